"""The app starts, migrates and serves its pages."""


def test_login_page_renders_in_spanish_by_default(client):
    res = client.get("/login", headers={"Accept-Language": "es-CO,es;q=0.9"})
    assert res.status_code == 200
    assert "Iniciar sesión" in res.get_data(as_text=True) or "Log in" in res.get_data(as_text=True)


def test_reception_logs_in_and_searches(make, auth, client):
    make.user("clerk", "reception")
    make.person(given_names="José", family_names="Pérez García")
    res = auth.login("clerk")
    assert res.status_code == 302, res.get_data(as_text=True)
    from tests.conftest import csrf

    token = csrf(client, "/")
    res = client.post("/search", data={"q": "jose perez", "csrf_token": token})
    assert res.status_code == 200, res.get_data(as_text=True)
    assert "Pérez García" in res.get_data(as_text=True)
