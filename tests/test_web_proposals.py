"""The proposal page (/usulan) and its study-visit shortlist through Flask's test client."""

import re


def test_proposal_flow_and_shortlist(client):
    q = {"description": "Kota kami ingin membangun TPA regional bersama kabupaten tetangga karena lahan penuh.",
         "region": "Kota Pekanbaru"}
    html = client.get("/usulan", query_string=q).get_data(as_text=True)
    for text in ("Kasus serupa", "Yang berhasil", "Yang perlu diwaspadai", "Daerah tujuan studi banding",
                 "Calon mitra kerja sama", "km"):
        assert text in html, text
    peer = re.search(r'name="peer" value="([^"]+)"', html).group(1)
    r = client.get("/usulan/studi-banding.csv", query_string={**q, "peer": peer})
    assert r.status_code == 200 and peer in r.get_data(as_text=True)
    bad = client.get("/usulan", query_string={"description": "x", "region": "Bandung"})
    assert bad.status_code == 400
