"""Streamlit entry point (`nprog ui`, or `streamlit run streamlit_app.py`); the app lives in app/ui.py."""

from nprog.app.ui import main

main()
