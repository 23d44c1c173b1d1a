"""The Streamlit UI (`nprog ui`, entry `streamlit_app.py`): `pages` draws the app (sidebar, Ask, Batch, About
and Modules tabs); `data` reads uploads and runs batches and exports, `pictures` builds the charts and
`modules` the Modules tab of the memory/ task models, all three tested without a browser."""
