#!/usr/bin/python3
"""An rrduino board written from the spec alone, sharing no code with the gateway.

Usage: independent_client.py HOST PORT CLIENT_ID KEY VALUE [VALUE ...]
Sends `h CLIENT_ID`, reads 32 bytes, derives the session key, then sends one
`u temperature VALUE <hmac>` per VALUE, 1.1 s apart.
"""
import hashlib, hmac, socket, sys, time

host, port, client_id, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
values = sys.argv[5:]
master = hashlib.sha256(key.encode()).digest()
s = socket.create_connection((host, port))
s.sendall(f"h {client_id}\n".encode())
material = b""
while len(material) < 32:
    chunk = s.recv(32 - len(material))
    if not chunk:
        sys.exit("gateway closed before sending key material")
    material += chunk
k = material
for _ in range(128):
    k = hmac.new(master, k, hashlib.sha256).digest()
for v in values:
    text = f"u temperature {v}"
    mac = hmac.new(k, text.encode(), hashlib.sha256).hexdigest()
    s.sendall(f"{text} {mac}\n".encode())
    k = hmac.new(master, k, hashlib.sha256).digest()
    time.sleep(1.1)
s.close()
