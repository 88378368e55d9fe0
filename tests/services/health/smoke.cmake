# tests of health smoke (not yet written)
