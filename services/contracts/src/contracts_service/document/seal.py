"""The platform's seal: PAdES signatures on final contract PDFs, and a demo CA for dev and test.

`DocumentSealer` is the interface; `PyHankoSealer` seals with a key and certificate chain from
settings (`CONTRACTS_SEAL_KEY_PEM`, `CONTRACTS_SEAL_CERT_PEM`, `CONTRACTS_SEAL_CHAIN_PEM`) as a
PAdES baseline B-B certification signature (no later change allowed), which any PDF reader or
validator can check against the issuing CA.

An eParaksts (LVRTC) seal would be another `DocumentSealer`: the qualified seal key lives at
LVRTC, so such a sealer would build the PDF signature container with pyHanko as here but with
a `pyhanko.sign.signers.Signer` subclass whose `async_sign_raw` sends the digest to the
eParaksts signing API and returns its signature (and add a timestamp for B-T). Select it in
`build_sealer` by a setting; nothing else changes.

`demo_ca(directory)` writes a demo CA and seal certificate once (`contracts-demo-ca DIR`, see
`cli`; `make run` uses `settings_env`); dev and test generate one in memory at start-up when
nothing is configured.
Production refuses both (see config).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes, fields, signers
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata
from pyhanko_certvalidator.registry import SimpleCertificateStore

from contracts_service.config import ContractsSettings
from contracts_service.document.model import ContractData
from contracts_service.document.render import render_pdf
from shared_kit.settings import Environment

logger = logging.getLogger(__name__)

FIELD_NAME = "PlatformSeal"
SEAL_NAME = "Datori bērnam"
KEY_FILE, CERT_FILE, CA_FILE = "seal-key.pem", "seal-cert.pem", "seal-ca.pem"


class DocumentSealer(Protocol):
    """Applies the platform's electronic seal to a finished PDF. The press (press.py) sends it
    to its render workers by pickle: a sealer pickles as what rebuilds it there."""

    name: str

    def seal(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """The sealed PDF (blocking: call it in the press's worker, or a worker thread)."""
        ...


@dataclass(frozen=True)
class SealMaterial:
    """A seal key, its certificate and the chain up to (and including) the root, as PEM."""

    key_pem: bytes = field(repr=False)
    cert_pem: bytes
    chain_pem: bytes

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """Self-signed certificates of the chain: what a validator anchors trust in."""
        certs = list(load_certs_from_pemder_data(self.chain_pem or self.cert_pem))
        return [c for c in certs if c.self_signed] or certs[-1:]


class SigningCertificate(attributes.CMSAttributeProvider):
    """The signing-certificate-v2 attribute (RFC 5035) of the seal's certificate, encoded once.

    pyHanko builds it afresh for every signature, and asn1crypto encodes a freshly built value
    again at every level each time a structure holding it is encoded: about three quarters of a
    seal's CPU went there. Read back from its encoding, it is encoded at once.
    """

    attribute_type = "signing_certificate_v2"

    def __init__(self, certificate: asn1_x509.Certificate) -> None:
        value = as_signing_certificate_v2(certificate)
        self._der = simple_cms_attribute(self.attribute_type, value).dump()

    async def get_attribute(self, dry_run: bool = False) -> cms.CMSAttribute:
        """The attribute, parsed from its encoding (a new object for each signature)."""
        return cms.CMSAttribute.load(self._der)


class SealAttributes(attributes.SignedAttributeProviderSpec):
    """The signed attributes pyHanko's PAdES spec gives a seal without CAdES extras or a
    timestamp (as `PyHankoSealer.seal` asks): the signing certificate; pyHanko adds the
    content type and the message digest itself."""

    def __init__(self, certificate: asn1_x509.Certificate) -> None:
        self._certificate = SigningCertificate(certificate)

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Iterator[attributes.CMSAttributeProvider]:
        """The providers of one signature's attributes."""
        yield self._certificate


class PyHankoSealer:
    """PAdES B-B certification signatures with a local key (pyHanko)."""

    name = "pyhanko-pades-b-b"

    def __init__(self, material: SealMaterial) -> None:
        self._material = material
        chain = list(load_certs_from_pemder_data(material.chain_pem)) if material.chain_pem else []
        self._signer = signers.SimpleSigner(
            signing_key=load_private_key_from_pemder_data(material.key_pem, None),
            signing_cert=next(iter(load_certs_from_pemder_data(material.cert_pem))),
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )
        self._signer.signed_attr_prov_spec = SealAttributes(self._signer.signing_cert)
        # Room for the signature container in the PDF (hex digits). pyHanko estimates it by
        # building and signing a dummy container first, as costly as the real one; the
        # estimate depends only on the key, chain and attributes, so the first seal's is kept.
        self._reserved: int | None = None

    def __reduce__(self) -> tuple[Callable[[SealMaterial], PyHankoSealer], tuple[SealMaterial]]:
        # To a render worker (press.py) as its key material: pyca's keys do not pickle, and a
        # worker builds the sealer once, not for every document.
        return sealer_from, (self._material,)

    def seal(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """Sign the whole file as the platform; no later change is permitted (DocMDP)."""
        meta = PdfSignatureMetadata(
            field_name=FIELD_NAME,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
            location=location,
            name=SEAL_NAME,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = signers.sign_pdf(writer, meta, signer=self._signer, bytes_reserved=self._reserved)
        if self._reserved is None:
            self._reserved = reserved_size(out)
        return out.getvalue()


@functools.lru_cache(maxsize=4)
def sealer_from(material: SealMaterial) -> PyHankoSealer:
    """The sealer of this key material, built once per process."""
    return PyHankoSealer(material)


def reserved_size(sealed: io.BytesIO) -> int:
    """Hex digits a sealed PDF reserves for its signature: the gap its /ByteRange leaves, less
    the angle brackets of the /Contents string."""
    signature = PdfFileReader(sealed).embedded_signatures[0]
    start, first, second, _ = signature.sig_object["/ByteRange"]
    return int(second) - (int(start) + int(first)) - 2


# Key material -------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Datori bērnam (DEMO)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def generate_demo_material(now: dt.datetime | None = None) -> SealMaterial:
    """A fresh demo root CA and a seal certificate it issued (ECDSA P-256)."""
    now = now or dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Datori bērnam DEMO Root CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Datori bērnam DEMO platform seal"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SealMaterial(key_pem=key_pem, cert_pem=_pem(cert), chain_pem=_pem(ca))


def material_from_settings(settings: ContractsSettings) -> SealMaterial:
    """The configured seal, or (dev and test only) a demo one made now."""
    if settings.seal_key_pem is not None and settings.seal_cert_pem:
        return SealMaterial(
            key_pem=settings.seal_key_pem.get_secret_value().encode(),
            cert_pem=settings.seal_cert_pem.encode(),
            chain_pem=(settings.seal_chain_pem or "").encode(),
        )
    if settings.environment is Environment.PROD:  # config refuses this too; belt and braces
        raise ValueError("the seal key and certificate must be configured in production")
    logger.warning("no seal configured: sealing with a demo CA generated at start-up")
    return generate_demo_material()


def trust_roots(settings: ContractsSettings, material: SealMaterial) -> list[asn1_x509.Certificate]:
    """Roots the verification endpoint trusts."""
    if settings.seal_trust_roots_pem:
        return list(load_certs_from_pemder_data(settings.seal_trust_roots_pem.encode()))
    return material.trust_roots()


def build_sealer(material: SealMaterial) -> DocumentSealer:
    """The sealer for this deployment (pyHanko with a local key; see the module docstring)."""
    return PyHankoSealer(material)


def render_and_seal(
    data: ContractData, sealer: DocumentSealer, *, reason: str, location: str
) -> bytes:
    """Render a final document and seal it (blocking: the press runs it in its worker)."""
    return sealer.seal(render_pdf(data), reason=reason, location=location)


# Demo CA on disk ----------------------------------------------------------------------------


def demo_ca(directory: Path | str) -> dict[str, Path]:
    """Write a demo CA and seal certificate into `directory` once; existing files are kept."""
    root = Path(directory)
    paths = {"key": root / KEY_FILE, "cert": root / CERT_FILE, "chain": root / CA_FILE}
    if all(p.exists() for p in paths.values()):
        return paths
    root.mkdir(parents=True, exist_ok=True)
    material = generate_demo_material()
    paths["key"].touch(mode=0o600)
    paths["key"].write_bytes(material.key_pem)
    paths["cert"].write_bytes(material.cert_pem)
    paths["chain"].write_bytes(material.chain_pem)
    return paths


def settings_env(directory: Path | str) -> dict[str, str]:
    """The `CONTRACTS_SEAL_*` environment for the demo CA in `directory` (made if missing)."""
    paths = demo_ca(directory)
    return {
        "CONTRACTS_SEAL_KEY_PEM": paths["key"].read_text(),
        "CONTRACTS_SEAL_CERT_PEM": paths["cert"].read_text(),
        "CONTRACTS_SEAL_CHAIN_PEM": paths["chain"].read_text(),
    }
