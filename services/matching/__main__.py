from services.matching.app import run
from services.matching.settings import Settings

if __name__ == "__main__":
    run(Settings())
