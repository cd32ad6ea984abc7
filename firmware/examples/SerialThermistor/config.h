// The two lines `node dist/server.js create <client_id>` prints on the gateway:
#define CLIENT_ID "example"
#define CLIENT_KEY "secret123"

// Milliseconds between readings.
#define INTERVAL_MS 60000UL
// The gateway's --baud (or the baud of its config's serial entry).
#define SERIAL_BAUD 9600
// Say hello again every hour, so a board that the opening of its port does not reset
// (no DTR line) finds a restarted gateway. 0: never.
#define REHELLO_MS 3600000UL
