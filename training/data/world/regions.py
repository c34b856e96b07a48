"""Cultural regions: who lives where, and how each region's taste deviates from the average.

143 regions in six countries (US states and DC, Brazilian states, Mexican states, Canadian
provinces and territories, UK nations, German Länder), coded like ISO 3166-2 in lower case
(``us-tx``, ``br-sp``, ``mx-jal``, ``ca-qc``, ``gb-sct``, ``de-by``). A region's weight (its
share of the service's users) is its population times the service's market share in its country,
times a little seed-dependent noise: a heavy-tailed, power-law-ish spread from ``gb-eng`` and
``us-ca`` down to ``ca-yt``. A region's taste is a vector of log-preference deviations per genre:
the country's (hand-written), the region's own known flavour (hand-written: Texas country and
Latin, Bahia's world music, Berlin's electronic scene, ...) and seed-dependent noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.data.world.genres import N_GENRES, genre_vector
from training.data.world.rng import REGIONS, stream

#: code, name, market share of the service (relative), national taste deviation.
COUNTRIES: tuple[tuple[str, str, float, dict[str, float]], ...] = (
    (
        "us",
        "United States",
        1.0,
        {
            "Country": 0.3,
            "Christian": 0.3,
            "Hip Hop": 0.2,
            "Sports": 0.2,
            "Latin": -0.2,
            "International": -0.5,
            "World": -0.3,
        },
    ),
    (
        "ca",
        "Canada",
        0.9,
        {
            "Alternative": 0.3,
            "Rock": 0.2,
            "Country": 0.1,
            "International": 0.1,
            "Latin": -0.8,
            "Sports": 0.2,
            "Christian": -0.3,
        },
    ),
    (
        "gb",
        "United Kingdom",
        0.6,
        {
            "Rock": 0.3,
            "Alternative": 0.4,
            "Electronic": 0.5,
            "Country": -1.0,
            "Christian": -0.8,
            "Latin": -0.8,
            "Public Radio": 0.4,
            "Sports": 0.2,
        },
    ),
    (
        "de",
        "Germany",
        0.35,
        {
            "Electronic": 0.8,
            "Classical": 0.4,
            "Rock": 0.3,
            "Country": -1.2,
            "Christian": -0.8,
            "Latin": -0.6,
            "International": 0.3,
            "Oldies": 0.2,
        },
    ),
    (
        "br",
        "Brazil",
        0.25,
        {
            "Latin": 0.7,
            "World": 0.8,
            "International": 0.6,
            "Christian": 0.4,
            "Country": -0.5,
            "Classic Rock": -0.3,
            "Public Radio": -0.6,
            "Sports": 0.3,
        },
    ),
    (
        "mx",
        "Mexico",
        0.35,
        {
            "Latin": 1.6,
            "International": 0.3,
            "Country": -0.3,
            "Hip Hop": -0.3,
            "Classic Rock": -0.3,
            "Public Radio": -0.6,
            "Sports": 0.2,
        },
    ),
)

#: code, name, population in millions (approximate).
_REGION_ROWS: tuple[tuple[str, str, float], ...] = (
    ("us-al", "Alabama", 5.0),
    ("us-ak", "Alaska", 0.73),
    ("us-az", "Arizona", 7.3),
    ("us-ar", "Arkansas", 3.0),
    ("us-ca", "California", 39.0),
    ("us-co", "Colorado", 5.8),
    ("us-ct", "Connecticut", 3.6),
    ("us-de", "Delaware", 1.0),
    ("us-dc", "District of Columbia", 0.69),
    ("us-fl", "Florida", 22.2),
    ("us-ga", "Georgia", 10.9),
    ("us-hi", "Hawaii", 1.4),
    ("us-id", "Idaho", 1.9),
    ("us-il", "Illinois", 12.6),
    ("us-in", "Indiana", 6.8),
    ("us-ia", "Iowa", 3.2),
    ("us-ks", "Kansas", 2.9),
    ("us-ky", "Kentucky", 4.5),
    ("us-la", "Louisiana", 4.6),
    ("us-me", "Maine", 1.4),
    ("us-md", "Maryland", 6.2),
    ("us-ma", "Massachusetts", 7.0),
    ("us-mi", "Michigan", 10.0),
    ("us-mn", "Minnesota", 5.7),
    ("us-ms", "Mississippi", 2.9),
    ("us-mo", "Missouri", 6.2),
    ("us-mt", "Montana", 1.1),
    ("us-ne", "Nebraska", 2.0),
    ("us-nv", "Nevada", 3.2),
    ("us-nh", "New Hampshire", 1.4),
    ("us-nj", "New Jersey", 9.3),
    ("us-nm", "New Mexico", 2.1),
    ("us-ny", "New York", 19.6),
    ("us-nc", "North Carolina", 10.7),
    ("us-nd", "North Dakota", 0.78),
    ("us-oh", "Ohio", 11.8),
    ("us-ok", "Oklahoma", 4.0),
    ("us-or", "Oregon", 4.2),
    ("us-pa", "Pennsylvania", 13.0),
    ("us-ri", "Rhode Island", 1.1),
    ("us-sc", "South Carolina", 5.3),
    ("us-sd", "South Dakota", 0.91),
    ("us-tn", "Tennessee", 7.1),
    ("us-tx", "Texas", 30.0),
    ("us-ut", "Utah", 3.4),
    ("us-vt", "Vermont", 0.65),
    ("us-va", "Virginia", 8.7),
    ("us-wa", "Washington", 7.8),
    ("us-wv", "West Virginia", 1.8),
    ("us-wi", "Wisconsin", 5.9),
    ("us-wy", "Wyoming", 0.58),
    ("br-ac", "Acre", 0.83),
    ("br-al", "Alagoas", 3.1),
    ("br-ap", "Amapá", 0.73),
    ("br-am", "Amazonas", 3.9),
    ("br-ba", "Bahia", 14.1),
    ("br-ce", "Ceará", 8.8),
    ("br-df", "Distrito Federal", 2.8),
    ("br-es", "Espírito Santo", 3.8),
    ("br-go", "Goiás", 7.1),
    ("br-ma", "Maranhão", 6.8),
    ("br-mt", "Mato Grosso", 3.7),
    ("br-ms", "Mato Grosso do Sul", 2.8),
    ("br-mg", "Minas Gerais", 20.5),
    ("br-pa", "Pará", 8.1),
    ("br-pb", "Paraíba", 4.0),
    ("br-pr", "Paraná", 11.4),
    ("br-pe", "Pernambuco", 9.1),
    ("br-pi", "Piauí", 3.3),
    ("br-rj", "Rio de Janeiro", 16.1),
    ("br-rn", "Rio Grande do Norte", 3.3),
    ("br-rs", "Rio Grande do Sul", 10.9),
    ("br-ro", "Rondônia", 1.6),
    ("br-rr", "Roraima", 0.64),
    ("br-sc", "Santa Catarina", 7.6),
    ("br-sp", "São Paulo", 44.4),
    ("br-se", "Sergipe", 2.2),
    ("br-to", "Tocantins", 1.5),
    ("mx-agu", "Aguascalientes", 1.4),
    ("mx-bcn", "Baja California", 3.8),
    ("mx-bcs", "Baja California Sur", 0.8),
    ("mx-cam", "Campeche", 0.93),
    ("mx-chp", "Chiapas", 5.5),
    ("mx-chh", "Chihuahua", 3.7),
    ("mx-cmx", "Ciudad de México", 9.2),
    ("mx-coa", "Coahuila", 3.1),
    ("mx-col", "Colima", 0.73),
    ("mx-dur", "Durango", 1.8),
    ("mx-gua", "Guanajuato", 6.2),
    ("mx-gro", "Guerrero", 3.5),
    ("mx-hid", "Hidalgo", 3.1),
    ("mx-jal", "Jalisco", 8.3),
    ("mx-mex", "Estado de México", 17.0),
    ("mx-mic", "Michoacán", 4.7),
    ("mx-mor", "Morelos", 2.0),
    ("mx-nay", "Nayarit", 1.2),
    ("mx-nle", "Nuevo León", 5.8),
    ("mx-oax", "Oaxaca", 4.1),
    ("mx-pue", "Puebla", 6.6),
    ("mx-que", "Querétaro", 2.4),
    ("mx-roo", "Quintana Roo", 1.9),
    ("mx-slp", "San Luis Potosí", 2.8),
    ("mx-sin", "Sinaloa", 3.0),
    ("mx-son", "Sonora", 2.9),
    ("mx-tab", "Tabasco", 2.4),
    ("mx-tam", "Tamaulipas", 3.5),
    ("mx-tla", "Tlaxcala", 1.3),
    ("mx-ver", "Veracruz", 8.1),
    ("mx-yuc", "Yucatán", 2.3),
    ("mx-zac", "Zacatecas", 1.6),
    ("ca-ab", "Alberta", 4.6),
    ("ca-bc", "British Columbia", 5.4),
    ("ca-mb", "Manitoba", 1.4),
    ("ca-nb", "New Brunswick", 0.8),
    ("ca-nl", "Newfoundland and Labrador", 0.51),
    ("ca-ns", "Nova Scotia", 1.0),
    ("ca-nt", "Northwest Territories", 0.045),
    ("ca-nu", "Nunavut", 0.04),
    ("ca-on", "Ontario", 15.1),
    ("ca-pe", "Prince Edward Island", 0.17),
    ("ca-qc", "Québec", 8.8),
    ("ca-sk", "Saskatchewan", 1.2),
    ("ca-yt", "Yukon", 0.044),
    ("gb-eng", "England", 56.5),
    ("gb-sct", "Scotland", 5.4),
    ("gb-wls", "Wales", 3.1),
    ("gb-nir", "Northern Ireland", 1.9),
    ("de-bw", "Baden-Württemberg", 11.1),
    ("de-by", "Bayern", 13.2),
    ("de-be", "Berlin", 3.7),
    ("de-bb", "Brandenburg", 2.5),
    ("de-hb", "Bremen", 0.68),
    ("de-hh", "Hamburg", 1.9),
    ("de-he", "Hessen", 6.3),
    ("de-mv", "Mecklenburg-Vorpommern", 1.6),
    ("de-ni", "Niedersachsen", 8.0),
    ("de-nw", "Nordrhein-Westfalen", 17.9),
    ("de-rp", "Rheinland-Pfalz", 4.1),
    ("de-sl", "Saarland", 0.98),
    ("de-sn", "Sachsen", 4.1),
    ("de-st", "Sachsen-Anhalt", 2.2),
    ("de-sh", "Schleswig-Holstein", 2.9),
    ("de-th", "Thüringen", 2.1),
)

# fmt: off
_SOUTH_RURAL = (
    "us-al", "us-ar", "us-ga", "us-id", "us-ks", "us-ky", "us-la", "us-ms", "us-mt", "us-nc",
    "us-nd", "us-ne", "us-ok", "us-sc", "us-sd", "us-wv", "us-wy",
)
_EAST_GERMANY = (
    "de-bb", "de-mv", "de-sn", "de-st", "de-th",
)
_BR_NORTHEAST = (
    "br-al", "br-ce", "br-ma", "br-pb", "br-pe", "br-pi", "br-rn", "br-se",
)
_BR_SERTANEJO = (
    "br-go", "br-mt", "br-ms", "br-to",
)
_MX_NORTE = (
    "mx-chh", "mx-coa", "mx-dur", "mx-nle", "mx-sin", "mx-son", "mx-tam",
)
# fmt: on


def _known_flavours() -> dict[str, dict[str, float]]:
    """Hand-written regional flavours on top of the national taste."""
    flavours: dict[str, dict[str, float]] = {
        "us-tx": {"Country": 0.6, "Latin": 0.8},
        "us-ca": {"Latin": 0.6, "Hip Hop": 0.2, "Alternative": 0.3},
        "us-fl": {"Latin": 0.6, "Oldies": 0.3},
        "us-nm": {"Latin": 0.8},
        "us-az": {"Latin": 0.5},
        "us-ny": {"Hip Hop": 0.4, "Jazz": 0.3, "News & Talk": 0.2},
        "us-dc": {"Public Radio": 0.8, "News & Talk": 0.6, "Hip Hop": 0.3},
        "us-tn": {"Country": 0.8, "Christian": 0.3},
        "us-mi": {"R&B": 0.4, "Classic Rock": 0.3},
        "us-il": {"Jazz": 0.2, "Hip Hop": 0.2},
        "us-ut": {"Christian": 0.5, "Kids & Family": 0.3},
        "us-hi": {"World": 0.8, "International": 0.4},
        "ca-qc": {"International": 1.0, "Alternative": -0.2},
        "ca-ab": {"Country": 0.6},
        "ca-sk": {"Country": 0.3},
        "ca-mb": {"Country": 0.3},
        "ca-ns": {"World": 0.3},
        "ca-nl": {"World": 0.3},
        "gb-sct": {"World": 0.4, "Rock": 0.2},
        "gb-wls": {"Classical": 0.3},
        "de-be": {"Electronic": 0.9},
        "de-hh": {"Hip Hop": 0.3},
        "de-by": {"Oldies": 0.3, "Christian": 0.2},
        "br-rj": {"Latin": 0.3, "Hip Hop": 0.4},
        "br-sp": {"Electronic": 0.3, "Hip Hop": 0.3},
        "br-ba": {"World": 0.7},
        "br-rs": {"Rock": 0.4},
        "mx-cmx": {"Alternative": 0.5, "Rock": 0.4, "Electronic": 0.3},
        "mx-jal": {"Latin": 0.4},
        "mx-oax": {"World": 0.6},
        "mx-chp": {"World": 0.6},
        "mx-gro": {"World": 0.6},
        "mx-yuc": {"International": 0.3},
        "mx-roo": {"International": 0.3},
        "mx-bcn": {"Hip Hop": 0.3, "Electronic": 0.3},
    }
    extra: list[tuple[Sequence[str], dict[str, float]]] = [
        (_SOUTH_RURAL, {"Country": 0.6, "Christian": 0.4}),
        (["us-wa", "us-or"], {"Alternative": 0.5, "Public Radio": 0.3, "Christian": -0.3}),
        (["us-ma", "us-vt", "us-me", "us-nh"], {"Public Radio": 0.4}),
        (["us-la"], {"Jazz": 0.7}),
        (["us-ga"], {"Hip Hop": 0.5, "R&B": 0.3}),
        (_EAST_GERMANY, {"Oldies": 0.3, "Rock": 0.2}),
        (_BR_NORTHEAST, {"World": 0.5, "Christian": 0.2}),
        (_BR_SERTANEJO, {"Country": 1.5}),
        (_MX_NORTE, {"Latin": 0.4}),
    ]
    for codes, effects in extra:
        for code in codes:
            target = flavours.setdefault(code, {})
            for genre, value in effects.items():
                target[genre] = target.get(genre, 0.0) + value
    return flavours


#: How much seed-dependent noise each region's taste gets (standard deviation per genre).
REGION_TASTE_NOISE = 0.5


@dataclass(frozen=True)
class Regions:
    """The regions of a world, index-aligned arrays.

    ``taste`` is (regions × genres): the log-preference deviation of the region's people.
    """

    codes: tuple[str, ...]
    names: tuple[str, ...]
    country: np.ndarray  # int: index into COUNTRIES
    weight: np.ndarray  # float64, sums to 1
    taste: np.ndarray  # float64 (R, G)

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def n_countries(self) -> int:
        return len(COUNTRIES)

    @property
    def country_codes(self) -> tuple[str, ...]:
        return tuple(c[0] for c in COUNTRIES)

    def index(self, code: str) -> int:
        return self.codes.index(code)


def build_regions(seed: int) -> Regions:
    """The regions of world ``seed``: fixed names, seed-dependent weights and taste noise."""
    rng = stream(seed, REGIONS)
    country_of = {c[0]: i for i, c in enumerate(COUNTRIES)}
    codes = tuple(r[0] for r in _REGION_ROWS)
    country = np.array([country_of[c.split("-")[0]] for c in codes], dtype=np.int64)
    population = np.array([r[2] for r in _REGION_ROWS])
    share = np.array([COUNTRIES[c][2] for c in country])
    weight = population * share * rng.lognormal(0.0, 0.15, size=len(codes))
    weight /= weight.sum()

    national = np.stack([genre_vector(c[3]) for c in COUNTRIES])
    flavours = _known_flavours()
    own = np.stack([genre_vector(flavours.get(code, {})) for code in codes])
    noise = rng.normal(0.0, REGION_TASTE_NOISE, size=(len(codes), N_GENRES))
    taste = national[country] + own + noise
    return Regions(
        codes=codes,
        names=tuple(r[1] for r in _REGION_ROWS),
        country=country,
        weight=weight,
        taste=taste,
    )
