from services.matching.app import run
from services.matching.settings import Settings
from shared.service import main

if __name__ == "__main__":
    main(Settings, run)
