"""The API on one machine: Chalice's local gateway, as `chalice local` runs it,
with a listen backlog that survives a burst of simultaneous clients (the
standard library's default of 5 resets connections under a 150-request burst)."""
import argparse
import os

from chalice.cli.factory import CLIFactory
from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer, ThreadedHTTPServer

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BurstTolerantServer(ThreadedHTTPServer):
    request_queue_size = 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args()
    # environ=os.environ: the stage's environment_variables apply to this process.
    factory = CLIFactory(PROJECT_DIR, environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    app = config.chalice_app
    # What chalice.local.create_local_server does to make the app serve locally.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    server = LocalDevServer(app, config, args.host, args.port, server_cls=BurstTolerantServer)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
