-- Back to a thread per core, for the whole session.
RESET threads;
