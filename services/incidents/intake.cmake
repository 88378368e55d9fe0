# fd_incidents_intake (not yet written)
