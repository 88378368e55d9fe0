# tests of incidents logic (not yet written)
