import pytest
def test_smoke(client, book):
    client.force_login(book.sam)
    for url in ["/", "/accounts/", f"/accounts/{book.case_alice.account_id}/", "/imports/", "/accounts/?product=abc"]:
        r = client.get(url)
        print(url, r.status_code)
        assert r.status_code == 200, r.content.decode()[:3000]
    print(client.get("/accounts/?product=abc").content.decode())
