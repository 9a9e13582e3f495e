from hardtech.main import app

app()
