"""The ready-to-use services through Ximilar's own client classes, pointed at a live server."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from ximilar.client import DominantColorGenericClient, DominantColorProductClient, GenericTaggingClient

from tests.conftest import need
from tests.ximilar_platform.ready_services.conftest import record, red_and_blue, red_object_on_white
from ximilar_platform import daily_counts
from ximilar_platform.accounts.models import DailyUsage


def endpoint(live_server) -> str:
    assert "localhost" in live_server.url  # the clients skip their call to api.ximilar.com (contract §0.1)
    return live_server.url + "/"


def records_of(answer: dict) -> list[dict]:
    assert answer["status"]["code"] == 200 and "processing time" in answer["statistics"]
    return answer["records"]


def colours_of(answer: dict) -> list[dict]:
    found = [item["_dominant_colors"] for item in records_of(answer)]
    for colours in found:
        assert set(colours) == {"rgb_colors", "rgb_hex_colors", "percentages", "color_names"}
        assert len({len(values) for values in colours.values()}) == 1  # parallel lists
    return found


def test_generic_tagging_answers_ranked_imagenet_tags(live_server, alice, settings) -> None:
    client = GenericTaggingClient(token=alice.token, endpoint=endpoint(live_server))
    images = [record(red_and_blue(), _id="blocks"), record(red_object_on_white(), _id="product")]
    answer = client.tags(images)
    for item, sent in zip(records_of(answer), images, strict=True):
        assert item["_status"]["code"] == 200 and item["_id"] == sent["_id"] and "_base64" not in item
        tags = item["_tags"]
        assert 1 <= len(tags) <= settings.TAGGING_TOP_K and item["_tags_simple"] == [tag["name"] for tag in tags]
        probs = [tag["prob"] for tag in tags]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
        assert all(re.fullmatch(r"n\d{8}", tag["id"]) for tag in tags)
        assert all(tag["prob"] >= settings.TAGGING_MIN_PROB for tag in tags[1:])
    assert records_of(client.tags(images)) == records_of(answer)  # deterministic
    daily_counts.flush()  # this process's counts, written as its next interval would
    assert DailyUsage.objects.get(service="tagging").records == 4


def test_generic_tagging_names_what_a_real_photo_shows(live_server, alice) -> None:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        need(False, "matplotlib (an ultralytics dependency) is not installed")
    photo = Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"  # < 0.1 MiB: sent as is
    client = GenericTaggingClient(token=alice.token, endpoint=endpoint(live_server))
    (item,) = records_of(client.tags([{"_file": str(photo)}]))
    assert item["_tags_simple"][0] == "military uniform" and item["_tags"][0]["id"] == "n03763968"


def test_generic_dominant_colours_of_known_blocks(live_server, alice) -> None:
    client = DominantColorGenericClient(token=alice.token, endpoint=endpoint(live_server))
    (colours,) = colours_of(client.dominantcolor([record(red_and_blue())]))
    assert colours["color_names"] == ["red", "blue"]
    assert colours["rgb_colors"] == [[255, 0, 0], [0, 0, 255]] and colours["rgb_hex_colors"] == ["#ff0000", "#0000ff"]
    assert colours["percentages"] == pytest.approx([0.7, 0.3], abs=0.02)
    (white_first,) = colours_of(client.dominantcolor([record(red_object_on_white())]))
    assert white_first["color_names"] == ["white", "red"]
    assert white_first["percentages"] == pytest.approx([0.7, 0.3], abs=0.02)
    daily_counts.flush()  # this process's counts, written as its next interval would
    assert DailyUsage.objects.get(service="colors").records == 2


def test_product_dominant_colours_ignore_the_white_background(live_server, alice) -> None:
    client = DominantColorProductClient(token=alice.token, endpoint=endpoint(live_server))
    product, blocks = colours_of(client.dominantcolor([record(red_object_on_white()), record(red_and_blue())]))
    assert product["color_names"] == ["red"] and product["percentages"] == [1.0]
    assert blocks["color_names"] == ["red", "blue"]  # no plain border: nothing is background


def test_a_record_that_cannot_be_read_fails_alone(live_server, alice) -> None:
    client = DominantColorGenericClient(token=alice.token, endpoint=endpoint(live_server))
    answer = client.dominantcolor([record("bm90IGFuIGltYWdl", _id="bad"), record(red_and_blue(), _id="good")])
    bad, good = records_of(answer)
    assert bad["_status"]["code"] == 400 and bad["_id"] == "bad" and "_dominant_colors" not in bad
    assert good["_status"]["code"] == 200 and good["_dominant_colors"]["color_names"] == ["red", "blue"]
    tagging = GenericTaggingClient(token=alice.token, endpoint=endpoint(live_server))
    bad, good = records_of(tagging.tags([record("bm90IGFuIGltYWdl"), record(red_and_blue())]))
    assert bad["_status"]["code"] == 400 and "_tags" not in bad and good["_tags"]
