#!/bin/sh
# Runs once, when the postgres service initializes an empty volume: lets the optional read
# replica (docker compose --profile replica) stream from it. An existing volume needs this line
# added to its pg_hba.conf once by hand.
echo "host replication flightdeck all scram-sha-256" >>"$PGDATA/pg_hba.conf"
