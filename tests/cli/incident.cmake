# fdctl incident command tests (being written)
