"""The Streamlit lab: state, caches, pure chart functions and thin page views over the seq2seq_viz core."""
