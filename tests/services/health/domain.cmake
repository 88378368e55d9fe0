# tests of health domain (not yet written)
