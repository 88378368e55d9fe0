# fd_incidents_logic (not yet written)
