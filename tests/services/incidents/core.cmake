# tests of incidents core (not yet written)
