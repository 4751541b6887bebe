"""Rasa input channels of our own (registered in credentials.yml by import path)."""

# socket.io messages between processes (Rasa replicas, the agent console) travel on this Redis channel
WIDGET_SOCKET_CHANNEL = "shopbot-widget"
