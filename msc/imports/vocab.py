"""What an import maps a list's columns to, the words lists already use for each value, and the date
formats they are written in."""

from __future__ import annotations

import functools

from babel import Locale
from flask_babel import lazy_gettext as _l

from msc.beneficiaries import vocab
from msc.crypto.blind import fold

IGNORE = ""
#: MSC Case's fields a column may feed, in the order the mapping page lists them
FIELDS = {
    "given_names": _l("Given names"),
    "family_names": _l("Family names"),
    "sex": _l("Sex"),
    "date_of_birth": _l("Date of birth"),
    "estimated_age": _l("Age in years (when the date of birth is not known)"),
    "nationality": _l("Nationality"),
    "document_type": _l("Document type"),
    "document_number": _l("Document number"),
    "phone": _l("Phone"),
    "arrival_date": _l("Date of arrival in the country"),
    "languages": _l("Languages spoken"),
    "needs": _l("Specific needs"),
    "household": _l("Household (the same value for everyone in it)"),
    "relationship": _l("Relationship to the head of household"),
    **{f"consent_{p}": _l("Consent: %(purpose)s", purpose=label) for p, label in vocab.CONSENT_PURPOSES.items()},
}
CONSENT_FIELDS = tuple(f for f in FIELDS if f.startswith("consent_"))
DATE_FIELDS = ("date_of_birth", "arrival_date")
#: fields whose values come from a list: each value the file holds is mapped to one of MSC Case's
CHOICE_FIELDS = ("sex", "nationality", "document_type", "relationship", *CONSENT_FIELDS)
#: fields holding several values in one cell (KoBo's select_multiple: "es pt"; spreadsheets: "es, pt")
MULTI_FIELDS = ("languages", "needs")
#: a value the mapping leaves out (a cell that says nothing: "NS/NR", "-")
BLANK = "_blank"


def choices(target: str) -> dict[str, object]:
    """The values of MSC Case a choice or multi field takes, with their labels."""
    if target == "sex":
        return dict(vocab.SEXES)
    if target == "nationality":
        return {code: vocab.country_name(code) for code in [*vocab.NATIONALITIES, vocab.STATELESS]}
    if target == "document_type":
        return dict(vocab.DOCUMENT_TYPES)
    if target == "relationship":
        return dict(vocab.RELATIONSHIPS)
    if target in CONSENT_FIELDS:
        return {"given": vocab.CONSENT_STATUSES["given"], "refused": vocab.CONSENT_STATUSES["refused"]}
    if target == "languages":
        return dict(vocab.LANGUAGES)
    if target == "needs":
        return {code: label for code, (label, _) in vocab.NEEDS.items()}
    return {}


_WORDS = {
    "sex": {
        "female": "f, female, woman, w, girl, femenino, femenina, mujer, nina, feminino, mulher, menina, fem",
        "male": "m, male, man, boy, masculino, hombre, nino, homem, menino, masc, h",
        "other": "other, otro, otra, outro, x, nb, no binario, nao binario, prefiere no decir",
    },
    "document_type": {
        "passport": "passport, pasaporte, passaporte, pp",
        "national_id": "national id, cedula, cedula de identidad, ci, cc, dni, rg, documento de identidad, id card, "
        "cedula de ciudadania, carteira de identidade",
        "birth_certificate": "birth certificate, partida de nacimiento, acta de nacimiento, certidao de nascimento, "
        "registro civil",
        "residence_permit": "residence permit, permiso, pep, ppt, permiso por proteccion temporal, crm, "
        "carne de extranjeria, protocolo de refugio, residencia",
        "other": "other, otro, outro",
        "none": "none, ninguno, ninguna, nenhum, sin documento, sem documento, indocumentado, no tiene",
    },
    "relationship": {
        "head": "head, jefe, jefa, jefe de hogar, jefa de hogar, cabeza de familia, responsavel, chefe, titular",
        "spouse": "spouse, partner, conyuge, esposo, esposa, pareja, companero, companera, marido, companheiro, "
        "companheira",
        "child": "child, son, daughter, hijo, hija, filho, filha",
        "parent": "parent, father, mother, padre, madre, pai, mae",
        "sibling": "sibling, brother, sister, hermano, hermana, irmao, irma",
        "grandchild": "grandchild, nieto, nieta, neto, neta",
        "grandparent": "grandparent, abuelo, abuela, avo",
        "other_relative": "other relative, otro familiar, tio, tia, primo, prima, sobrino, sobrina, cunado, cunada, "
        "outro parente",
        "non_relative": "non relative, no familiar, amigo, amiga, cuidador, cuidadora, nao parente",
    },
    "consent": {
        "given": "yes, y, si, s, sim, 1, true, given, granted, acepta, aceptado, otorgado, otorga, dado, concedido, x",
        "refused": "no, n, nao, 0, false, refused, rechaza, rechazado, negado, recusado",
    },
    "languages": {
        "es": "es, spa, spanish, espanol, castellano, espanhol",
        "pt": "pt, por, portuguese, portugues",
        "en": "en, eng, english, ingles",
        "fr": "fr, fra, french, frances",
        "ht": "ht, hat, creole, kreyol, creole haitiano, criollo haitiano",
        "guc": "guc, wayuu, wayuunaiki",
        "wba": "wba, warao",
        "other": "other, otro, outro",
    },
}
#: "venezolano": how lists often write a nationality
_DEMONYMS = {
    "VEN": "venezolano, venezolana, venezuelan",
    "COL": "colombiano, colombiana, colombian",
    "ECU": "ecuatoriano, ecuatoriana, ecuadorian, equatoriano",
    "PER": "peruano, peruana, peruvian",
    "HTI": "haitiano, haitiana, haitian",
    "CUB": "cubano, cubana, cuban",
    "BRA": "brasileno, brasilena, brasileiro, brasileira, brazilian",
    "BOL": "boliviano, boliviana, bolivian",
    "CHL": "chileno, chilena, chilean",
    "ARG": "argentino, argentina, argentinian",
}


@functools.cache
def _known(target: str) -> dict[str, str]:
    """Folded words -> MSC Case's value, for a field (the defaults a new mapping starts from)."""
    words: dict[str, str] = {}
    if target == "nationality":
        for alpha3, alpha2 in vocab.NATIONALITIES.items():
            words[fold(alpha3)] = words[fold(alpha2)] = alpha3
            for lang in ("es", "pt", "en"):
                name = Locale.parse(lang).territories.get(alpha2)
                if name:
                    words[fold(name)] = alpha3
        for alpha3, names in _DEMONYMS.items():
            for name in _phrases(names):
                words[name] = alpha3
        words.update({"xxa": vocab.STATELESS, "apatrida": vocab.STATELESS, "stateless": vocab.STATELESS})
        return words
    group = "consent" if target in CONSENT_FIELDS else target
    if group == "needs":
        for code, (label, _) in vocab.NEEDS.items():
            words[fold(code)] = code
            words[fold(str(label))] = code
        return words
    for code, text in _WORDS.get(group, {}).items():
        words[fold(code)] = code
        for phrase in _phrases(text):
            words.setdefault(phrase, code)
    return words


def _phrases(text: str) -> list[str]:
    """The names of a comma-separated list, folded."""
    return [fold(p) for p in text.split(",") if fold(p)]


def known_value(target: str, value: str) -> str | None:
    """What a value of a list means for a field by the words lists commonly use, or None."""
    return _known(target).get(fold(value))


# ---- headers ------------------------------------------------------------------------------------------

_HEADERS = {
    "given_names": "nombres, nombre, given names, given name, first name, first names, nomes, nome, primeiro nome, "
    "prenom, primer nombre, segundo nombre",
    "family_names": "apellidos, apellido, family names, family name, last name, surname, surnames, sobrenome, "
    "sobrenomes, nom, primer apellido, segundo apellido",
    "sex": "sexo, sex, genero, gender",
    "date_of_birth": "fecha de nacimiento, fecha nacimiento, nacimiento, dob, date of birth, birth date, birthdate, "
    "data de nascimento, data nascimento",
    "estimated_age": "edad, age, idade, edad estimada, estimated age",
    "nationality": "nacionalidad, nationality, nacionalidade, pais de origen, country of origin, pais de origem",
    "document_type": "tipo de documento, tipo documento, document type, tipo doc, tipo de identificacion",
    "document_number": "numero de documento, numero documento, documento, document, document number, document no, "
    "doc number, n documento, no documento, numero de identificacion, numero do documento, cedula, pasaporte",
    "phone": "telefono, celular, movil, phone, mobile, telefone, whatsapp, numero de telefono, contacto",
    "arrival_date": "fecha de llegada, fecha llegada, arrival date, date of arrival, data de chegada, llegada",
    "languages": "idiomas, idioma, languages, language, linguas, lingua",
    "needs": "necesidades, necesidades especificas, needs, specific needs, necessidades, vulnerabilidades",
    "household": "hogar, household, grupo familiar, familia, id hogar, household id, codigo familiar, family id, "
    "id familia, nucleo familiar, codigo hogar",
    "relationship": "parentesco, relationship, relacion, relacao, relationship to head, parentesco con jefe de hogar",
    "consent_registration": "consentimiento, consent, consentimento, consentimiento registro, consent registration",
    "consent_referral": "consentimiento remision, consent referral, consentimento encaminhamento",
}


@functools.cache
def _header_words() -> dict[str, str]:
    words: dict[str, str] = {}
    for target, text in _HEADERS.items():
        words[fold(target)] = target
        for phrase in _phrases(text):
            words.setdefault(phrase, target)
    return words


def guess(header: str) -> str:
    """The field a column's header most likely means (KoBo's group paths are read from the last part):
    IGNORE when none."""
    name = header.rsplit("/", 1)[-1]
    return _header_words().get(fold(name.replace("_", " ")), IGNORE)


# ---- dates ----------------------------------------------------------------------------------------------

#: how a list writes its dates: the page offers these; a date cell of a spreadsheet needs none
DATE_FORMATS = {
    "%Y-%m-%d": _l("year-month-day (2024-03-31, KoBo)"),
    "%d/%m/%Y": _l("day/month/year (31/03/2024)"),
    "%m/%d/%Y": _l("month/day/year (03/31/2024)"),
    "%d-%m-%Y": _l("day-month-year (31-03-2024)"),
    "%d.%m.%Y": _l("day.month.year (31.03.2024)"),
}
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
