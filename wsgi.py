from parking import create_app

app = create_app()
