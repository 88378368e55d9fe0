# tests of incidents intake (not yet written)
