"""Streamlit entry point (`nprog ui`, or `streamlit run streamlit_app.py`); the app lives in app/ui/
(app/ui/pages.py draws it)."""

from nprog.app.ui.pages import main

main()
