"""seq2seq_viz lab: page config, the shared sidebar and the st.navigation router (run: streamlit run app.py)."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported (ui.cache also calls set_threads(1))

import streamlit as st

from ui import cache, components, sidebar, state, urls
from ui.text import md_escape

st.set_page_config(page_title="seq2seq_viz", page_icon=":material/translate:", layout="wide")

translate = st.Page(
    "ui/views/translate.py", title="Translate", icon=":material/translate:", url_path=state.PAGE_TRANSLATE
)
# Streamlit serves its default page at "/" only, never at its url_path; so "/" is a hidden page that forwards to
# /translate with the same query string, and a shared /translate?... link opens Translate itself.
home = st.Page(lambda: None, title="Translate", url_path="home", default=True, visibility="hidden")
page = st.navigation(
    [
        home,
        translate,
        st.Page("ui/views/step.py", title="Step through", icon=":material/footprint:", url_path=state.PAGE_STEP),
        st.Page("ui/views/cells.py", title="Cells", icon=":material/grid_on:", url_path=state.PAGE_CELLS),
        st.Page(
            "ui/views/teacher_forcing.py",
            title="Teacher forcing",
            icon=":material/school:",
            url_path=state.PAGE_TEACHER_FORCING,
        ),
        st.Page("ui/views/beam.py", title="Beam search", icon=":material/account_tree:", url_path=state.PAGE_BEAM),
        st.Page("ui/views/compare.py", title="Compare", icon=":material/compare:", url_path=state.PAGE_COMPARE),
        st.Page("ui/views/train.py", title="Train live", icon=":material/model_training:", url_path=state.PAGE_TRAIN),
        st.Page(
            "ui/views/attribution.py",
            title="Attribution",
            icon=":material/troubleshoot:",
            url_path=state.PAGE_ATTRIBUTION,
        ),
        st.Page("ui/views/models.py", title="Models", icon=":material/leaderboard:", url_path=state.PAGE_MODELS),
    ]
)

if page is home:
    st.switch_page(translate, query_params=st.query_params.to_dict())

with components.sentences_not_tracebacks():
    components.pace()
    models = cache.catalog()
    if not models:
        st.error("No models are installed yet: train some with `python -m seq2seq_viz build-zoo`.")
    else:
        sidebar.draw(models, page.url_path or state.PAGE_TRANSLATE)
        state.fold_sidebar()
        components.lab_layout()
        for notice in state.pop_notices():
            st.warning(md_escape(notice))
        page.run()
        urls.write(page.url_path)
