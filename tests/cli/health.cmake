# fdctl health command tests (being written)
