"""What keeps several processes and nodes coherent: the bus, membership, single-leader jobs,
dedicated connections with reconnect and resync. ``core`` reaches other processes only through
the interfaces defined here."""
