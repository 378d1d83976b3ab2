"""The official donation channels: loader, validation, signature check and the staff CLI.

Donors asking a chatbot where to send money are a fraud target, so the bot answers only from
`charity.yaml`, and presents it as the department's only while that file carries a valid Ed25519
signature (`charity.yaml.sig`) from the key the deployment configures (CHARITY_PUBLIC_KEY_FILE,
the department's). The repository ships no key and no signature: a list nobody at the department
has signed is never official. Until a key is configured the list loads unverified (a warning);
with a key, a bad or missing signature loads it unverified and logs an ALARM. Unverified, the
donation handler gives no channel details and says the list awaits the department's confirmation.

    python -m knowledge.charity keygen --out DIR
    python -m knowledge.charity sign --key PATH [--file knowledge/charity.yaml]
    python -m knowledge.charity verify [--file ...] [--public-key ...]
"""

import argparse
import base64
import binascii
import logging
import os
import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from knowledge.loading import InService
from knowledge.normalize import normalize

log = logging.getLogger(__name__)

UNVERIFIED = "待核实"
HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE / "charity.yaml"
PUBLIC_KEY_ENV = "CHARITY_PUBLIC_KEY_FILE"
# Said when the list cannot be trusted. It lives in code, not in the file, because a tampered
# file could carry a tampered address too.
OFFICIAL_SITE = "http://mzt.hunan.gov.cn/"
OFFICIAL_PUBLISHER = "湖南省民政厅"

MONEY, MATERIALS, OVERSEAS_MATERIALS = "money", "materials", "overseas_materials"
NEEDS = (MONEY, MATERIALS, OVERSEAS_MATERIALS)

_ACCOUNT_NUMBER = re.compile(r"\d(?:[ -]?\d){5,31}")
_PHONE = re.compile(r"[\d-]{3,20}(?:[ ,，、/][\d-]{3,20})*")


class CharityError(ValueError):
    """The list file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Account:
    name: str
    bank: str
    number: str
    verified_on: date | None  # None while the account is 待核实

    @property
    def confirmed(self) -> bool:
        return self.verified_on is not None


@dataclass(frozen=True)
class Federation:
    id: str
    level: str  # province | city
    name: str  # 长沙市慈善总会
    region: str  # 长沙市
    aliases: tuple[str, ...]  # how citizens name the region: 长沙
    accepts: frozenset[str]
    account: Account
    phone: str
    source: str  # the public page where the department published this entry
    verified_on: date
    note: str = ""

    def is_named_in(self, normalized_text: str) -> bool:
        return any(name in normalized_text for name in (self.region, *self.aliases))


@dataclass(frozen=True)
class Volunteering:
    stations: int
    station_social_workers: str
    epidemic_social_workers: int
    epidemic_volunteers: str
    social_organisations: str
    how_to_join: str
    verified_on: date


@dataclass(frozen=True)
class CharityList:
    federations: tuple[Federation, ...]
    project: str  # the seed's online project, on `project_platform` only
    project_platform: str
    platforms: tuple[str, ...]
    receipts: str
    announcement_publisher: str
    announcement_url: str
    volunteering: Volunteering
    verified_on: date
    verified: bool  # the signature matched the configured public key

    @property
    def provincial(self) -> Federation:
        return next(f for f in self.federations if f.level == "province")

    @property
    def cities(self) -> tuple[Federation, ...]:
        return tuple(f for f in self.federations if f.level == "city")

    def find_region(self, text: str) -> Federation | None:
        """The federation whose city (or, failing that, the province) the text names."""
        text = normalize(text)
        for federation in (*self.cities, self.provincial):
            if federation.is_named_in(text):
                return federation
        return None

    def receiver(self, need: str, region: Federation | None) -> Federation:
        """Who takes `need` from a donor in `region` (None: anywhere): the region's own federation
        if it accepts it, else the one that does (overseas materials: the provincial one only)."""
        region = region or self.provincial
        if need in region.accepts:
            return region
        return next(f for f in self.federations if need in f.accepts)


# ---- loading and validation -------------------------------------------------------------


def load(path: Path | str = DEFAULT_FILE, public_key_path: Path | str | None = None) -> CharityList:
    """Read, validate and signature-check the list. Malformed → CharityError; unsigned → verified=False."""
    path = Path(path)
    public_key_path = Path(public_key_path) if public_key_path else default_public_key_path()
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CharityError(f"{path}: cannot read the list ({e.strerror})") from None
    if public_key_path is None:
        log.warning(
            "donation list %s is unverified: no department key is configured (%s). Channel answers say the "
            "list awaits the department's confirmation.",
            path,
            PUBLIC_KEY_ENV,
        )
        return parse(raw, verified=False, source=str(path))
    # Verify and parse the same bytes, so what is checked is what is used.
    problem = signature_problem(raw, signature_path(path), public_key_path)
    if problem:
        log.error(
            "ALARM donation list %s is not trusted: %s. Account answers are off until it is re-signed.", path, problem
        )
    return parse(raw, verified=problem is None, source=str(path))


def parse(raw: bytes, verified: bool, source: str = "charity.yaml") -> CharityList:
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise CharityError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise CharityError(f"{source}: expected a mapping at the top")
    top = _Entry(doc, "top level")
    announcement = _Entry(top.mapping("announcement"), "announcement")
    federations = tuple(
        _federation(_Entry(item, f"federations[{i}]")) for i, item in enumerate(top.items("federations"))
    )
    _check_federations(federations)
    project = _Entry(top.mapping("project"), "project")
    platforms = tuple(top.texts("platforms"))
    if project.text("platform") not in platforms:
        project.fail("platform", f"must be one of the platforms {list(platforms)}")
    return CharityList(
        federations=federations,
        project=project.text("name"),
        project_platform=project.text("platform"),
        platforms=platforms,
        receipts=top.text("receipts"),
        announcement_publisher=announcement.text("publisher"),
        announcement_url=announcement.url("url"),
        volunteering=_volunteering(_Entry(top.mapping("volunteering"), "volunteering")),
        verified_on=top.day("verified_on"),
        verified=verified,
    )


class _Entry:
    """One mapping of the file with typed field readers that name the entry and field on error."""

    def __init__(self, data, label: str):
        if not isinstance(data, dict):
            raise CharityError(f"{label}: expected a mapping of fields")
        self.data, self.label = data, label

    def fail(self, field: str, problem: str):
        raise CharityError(f"{self.label}, field {field!r}: {problem}")

    def get(self, field: str):
        if field not in self.data or self.data[field] is None:
            self.fail(field, f"missing (write {UNVERIFIED} if not known yet)")
        return self.data[field]

    def text(self, field: str) -> str:
        value = self.get(field)
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            self.fail(field, "must be non-empty text")
        return str(value).strip()

    def texts(self, field: str) -> list[str]:
        value = self.get(field)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(field, "must be a non-empty list of text")
        return [v.strip() for v in value]

    def items(self, field: str) -> list:
        value = self.get(field)
        if not isinstance(value, list) or not value:
            self.fail(field, "must be a non-empty list")
        return value

    def mapping(self, field: str) -> dict:
        value = self.get(field)
        if not isinstance(value, dict):
            self.fail(field, "must be a mapping of fields")
        return value

    def day(self, field: str) -> date:
        value = self.get(field)
        if not isinstance(value, date):
            self.fail(field, f"must be a date written YYYY-MM-DD, got {value!r}")
        return value

    def day_or_unverified(self, field: str) -> date | None:
        return None if self.get(field) == UNVERIFIED else self.day(field)

    def count(self, field: str) -> int:
        value = self.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.fail(field, f"must be a whole number, got {value!r}")
        return value

    def url(self, field: str) -> str:
        value = self.text(field)
        if not re.fullmatch(r"https?://[^\s]+", value):
            self.fail(field, f"must be an http(s) address, got {value!r}")
        return value

    def matching(self, field: str, pattern: re.Pattern, what: str) -> str:
        # Unquoted digits become a YAML number: a leading 0 is dropped (or read as octal).
        if not isinstance(self.get(field), str):
            self.fail(field, f'must be written in quotes, e.g. "6222 0000 0000" (got {self.get(field)!r})')
        value = self.text(field)
        if value != UNVERIFIED and not pattern.fullmatch(value):
            self.fail(field, f"must be {what} or {UNVERIFIED}, got {value!r}")
        return value


def _federation(entry: _Entry) -> Federation:
    level = entry.text("level")
    if level not in ("province", "city"):
        entry.fail("level", f"must be province or city, got {level!r}")
    accepts = entry.texts("accepts")
    unknown = set(accepts) - set(NEEDS)
    if unknown:
        entry.fail("accepts", f"unknown kind {sorted(unknown)}; use {', '.join(NEEDS)}")
    account = Account(
        name=entry.text("account_name"),
        bank=entry.text("bank"),
        number=entry.matching("account_number", _ACCOUNT_NUMBER, "digits (spaces allowed)"),
        verified_on=entry.day_or_unverified("account_verified_on"),
    )
    # An account is shown only when every part of it was checked, and on which day is recorded.
    filled = [
        f
        for f, v in (("account_name", account.name), ("bank", account.bank), ("account_number", account.number))
        if v != UNVERIFIED
    ]
    if account.confirmed and len(filled) < 3:
        entry.fail("account_verified_on", "is a date but account_name, bank and account_number are not all filled in")
    if filled and not account.confirmed:
        entry.fail("account_verified_on", f"must be the date {filled[0]} was checked against the official notice")
    return Federation(
        id=entry.text("id"),
        level=level,
        name=entry.text("name"),
        region=entry.text("region"),
        aliases=tuple(normalize(a) for a in entry.texts("aliases")),
        accepts=frozenset(accepts),
        account=account,
        phone=entry.matching("phone", _PHONE, "a phone number"),
        source=entry.url("source"),
        verified_on=entry.day("verified_on"),
        note=str(entry.data.get("note") or "").strip(),
    )


def _check_federations(federations: tuple[Federation, ...]) -> None:
    seen: dict[str, str] = {}
    for i, federation in enumerate(federations):
        for name in (federation.id, federation.name, federation.region, *federation.aliases):
            if name in seen:
                raise CharityError(f"federations[{i}] ({federation.name}): {name!r} is already used by {seen[name]}")
            seen[name] = federation.name
    provinces = [f for f in federations if f.level == "province"]
    if len(provinces) != 1:
        raise CharityError(f"federations: need exactly one entry with level province, found {len(provinces)}")
    if set(provinces[0].accepts) != set(NEEDS):
        raise CharityError(
            f"federations ({provinces[0].name}), field 'accepts': the province must take {', '.join(NEEDS)}"
        )
    overseas = [f.name for f in federations if OVERSEAS_MATERIALS in f.accepts]
    if len(overseas) != 1:
        raise CharityError(
            f"federations, field 'accepts': only one organisation may take {OVERSEAS_MATERIALS}, found {overseas}"
        )


def _volunteering(entry: _Entry) -> Volunteering:
    return Volunteering(
        stations=entry.count("stations"),
        station_social_workers=entry.text("station_social_workers"),
        epidemic_social_workers=entry.count("epidemic_social_workers"),
        epidemic_volunteers=entry.text("epidemic_volunteers"),
        social_organisations=entry.text("social_organisations"),
        how_to_join=entry.text("how_to_join"),
        verified_on=entry.day("verified_on"),
    )


# ---- signatures ---------------------------------------------------------------------------


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


_public_key_path: Path | None = None


def use_public_key(path: Path | str = "") -> None:
    """The deployment's public key (CHARITY_PUBLIC_KEY_FILE; "" → none: the list stays unverified)."""
    global _public_key_path
    _public_key_path = Path(path) if path else None


def default_public_key_path() -> Path | None:
    return _public_key_path


def signature_problem(raw: bytes, sig_path: Path, public_key_path: Path) -> str | None:
    """None when `raw` carries a valid signature from the public key; else what is wrong."""
    try:
        public_key = serialization.load_pem_public_key(public_key_path.read_bytes())
    except OSError:
        return f"public key {public_key_path} cannot be read"
    except ValueError:
        return f"public key {public_key_path} is not a PEM public key"
    if not isinstance(public_key, Ed25519PublicKey):
        return f"public key {public_key_path} is not an Ed25519 key"
    try:
        signature = base64.b64decode(sig_path.read_text().strip(), validate=True)
    except OSError:
        return f"signature {sig_path} is missing"
    except (binascii.Error, ValueError):
        return f"signature {sig_path} is not base64"
    try:
        public_key.verify(signature, raw)
    except InvalidSignature:
        return "signature does not match the file (edited after signing, or signed with another key)"
    return None


def sign(path: Path, private_key_path: Path) -> Path:
    """Validate the list, then write its detached signature next to it. Returns the .sig path."""
    raw = path.read_bytes()
    parse(raw, verified=False, source=str(path))  # never sign a file the bot would refuse
    private_key = serialization.load_pem_private_key(private_key_path.read_bytes(), password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise CharityError(f"{private_key_path} is not an Ed25519 private key")
    sig_path = signature_path(path)
    sig_path.write_text(base64.b64encode(private_key.sign(raw)).decode() + "\n")
    return sig_path


def keygen(out_dir: Path) -> tuple[Path, Path]:
    """A new keypair: charity.key (private, mode 600, keep off the server) and charity.pub."""
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / "charity.key", out_dir / "charity.pub"
    for existing in (private_path, public_path):
        if existing.exists():
            raise CharityError(f"{existing} already exists; choose another --out directory")
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as f:
        f.write(pem)
    public_path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


# ---- the list the bot answers from ------------------------------------------------------------

_in_service = InService(load)
current = _in_service.current  # the list in use; loaded from the default paths on first use


def reload(path: Path | str | None = None, public_key_path: Path | str | None = None) -> CharityList:
    """Load the list and make it current. A malformed file raises and leaves the old list in use."""
    return _in_service.reload(path or DEFAULT_FILE, public_key_path)


# ---- command line -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge.charity", description="Sign and check the donation list."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    keygen_cmd = commands.add_parser("keygen", help="make a new signing keypair")
    keygen_cmd.add_argument("--out", required=True, type=Path, help="directory for charity.key and charity.pub")
    sign_cmd = commands.add_parser("sign", help="validate and sign the list")
    sign_cmd.add_argument("--key", required=True, type=Path, help="the private key (charity.key)")
    sign_cmd.add_argument("--file", type=Path, default=DEFAULT_FILE)
    verify_cmd = commands.add_parser("verify", help="validate the list and check its signature")
    verify_cmd.add_argument("--file", type=Path, default=DEFAULT_FILE)
    verify_cmd.add_argument("--public-key", type=Path, required=True, help="the department's public key (charity.pub)")
    args = parser.parse_args(argv)

    try:
        if args.command == "keygen":
            private_path, public_path = keygen(args.out)
            print(f"private key: {private_path}  (keep it off the server; anyone holding it can vouch for accounts)")
            print(f"public key:  {public_path}  (install on the server; set {PUBLIC_KEY_ENV} to its path)")
        elif args.command == "sign":
            print(f"signed: {sign(args.file, args.key)}")
        else:
            raw = args.file.read_bytes()
            charities = parse(raw, verified=False, source=str(args.file))
            problem = signature_problem(raw, signature_path(args.file), args.public_key)
            if problem:
                print(f"NOT TRUSTED: {problem}", file=sys.stderr)
                return 1
            confirmed = sum(f.account.confirmed for f in charities.federations)
            print(
                f"OK: {args.file} is valid and signed; {len(charities.federations)} federations, "
                f"{confirmed} with confirmed accounts"
            )
    except (CharityError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
