# tests of health probe (not yet written)
