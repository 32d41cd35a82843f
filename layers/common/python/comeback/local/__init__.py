"""Running Comeback on this machine: moto's server as the embedded AWS, the real handlers
behind a real HTTP server, and a simulated clock. Not part of the Lambda layer."""
