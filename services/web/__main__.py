from services.web.app import create_app
from services.web.settings import Settings
from shared.service import run_http

if __name__ == "__main__":
    settings = Settings()
    run_http(create_app(settings), settings)
