from services.matching.app import create_app
from services.matching.settings import Settings
from shared.service import serve_http

if __name__ == "__main__":
    serve_http(create_app, Settings)
