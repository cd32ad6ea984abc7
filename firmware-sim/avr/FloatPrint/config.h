#define COUNT 400
