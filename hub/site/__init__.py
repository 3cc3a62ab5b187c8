"""The storm hub's static site: generated pages, the lite page and the atomic build."""
