# e2e tests of the health service (being written)
