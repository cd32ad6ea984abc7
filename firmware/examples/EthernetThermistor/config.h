// The two lines `node dist/server.js create <client_id>` prints on the gateway:
#define CLIENT_ID "example"
#define CLIENT_KEY "secret123"

// Where the gateway listens (`serve --port`, default 60405). An IP address or a name.
#define GATEWAY_HOST "192.168.1.10"
#define GATEWAY_PORT 60405

// The shield's MAC address (printed on a sticker on most shields), and the address to
// use when no DHCP server answers.
#define BOARD_MAC { 0xDE, 0xAD, 0xBE, 0xEF, 0xFE, 0xED }
#define BOARD_IP 192, 168, 1, 177

// Milliseconds between readings.
#define INTERVAL_MS 60000UL
