"""Countries and the words for their people: "austrian" names the cell "Austria", "germany" the cell
"German" (nprog.features matches question n-grams against cells; these are the n-grams a question says
instead).

One line per country: its names as a table writes them, then the words for its people (adjective,
plural). A name marked * is only a cell's way to write the country ("us" in a question is a pronoun).
Words that mean something else in tables are left out on purpose ("pole": pole position; "finn",
"dane" and "swede": people's names, a vegetable).
"""

from __future__ import annotations

_COUNTRIES = """
afghanistan | afghan ; afghans
albania | albanian ; albanians
algeria | algerian ; algerians
argentina | argentine ; argentinian ; argentinians ; argentines
armenia | armenian ; armenians
australia | australian ; australians ; aussie
austria | austrian ; austrians
azerbaijan | azerbaijani ; azerbaijanis
belarus | belarusian ; belarusians
belgium | belgian ; belgians
bolivia | bolivian ; bolivians
bosnia and herzegovina ; bosnia | bosnian ; bosnians
brazil | brazilian ; brazilians
bulgaria | bulgarian ; bulgarians
cameroon | cameroonian ; cameroonians
canada | canadian ; canadians
chile | chilean ; chileans
china ; people's republic of china | chinese
colombia | colombian ; colombians
costa rica | costa rican ; costa ricans
croatia | croatian ; croatians ; croat ; croats
cuba | cuban ; cubans
cyprus | cypriot ; cypriots
czech republic ; czechia | czech ; czechs
czechoslovakia | czechoslovak ; czechoslovakian
denmark | danish
dominican republic | dominican ; dominicans
ecuador | ecuadorian ; ecuadorians
egypt | egyptian ; egyptians
england | english ; englishman ; englishmen
estonia | estonian ; estonians
ethiopia | ethiopian ; ethiopians
fiji | fijian ; fijians
finland | finnish
france | french ; frenchman ; frenchmen
georgia | georgian ; georgians
germany ; west germany ; east germany | german ; germans
ghana | ghanaian ; ghanaians
great britain ; united kingdom ; uk* ; britain | british ; briton ; britons
greece | greek ; greeks
haiti | haitian ; haitians
honduras | honduran ; hondurans
hungary | hungarian ; hungarians
iceland | icelandic ; icelander ; icelanders
india | indian ; indians
indonesia | indonesian ; indonesians
iran | iranian ; iranians
iraq | iraqi ; iraqis
ireland ; republic of ireland | irish ; irishman ; irishmen
israel | israeli ; israelis
italy | italian ; italians
ivory coast ; cote d'ivoire | ivorian ; ivorians
jamaica | jamaican ; jamaicans
japan | japanese
jordan | jordanian ; jordanians
kazakhstan | kazakh ; kazakhs ; kazakhstani
kenya | kenyan ; kenyans
latvia | latvian ; latvians
lebanon | lebanese
lithuania | lithuanian ; lithuanians
luxembourg | luxembourgish ; luxembourger ; luxembourgers
malaysia | malaysian ; malaysians
mexico | mexican ; mexicans
moldova | moldovan ; moldovans
mongolia | mongolian ; mongolians
montenegro | montenegrin ; montenegrins
morocco | moroccan ; moroccans
nepal | nepali ; nepalese
netherlands ; the netherlands ; holland | dutch ; dutchman ; dutchmen
new zealand | new zealander ; new zealanders
nigeria | nigerian ; nigerians
north korea | north korean ; north koreans
northern ireland | northern irish
norway | norwegian ; norwegians
pakistan | pakistani ; pakistanis
panama | panamanian ; panamanians
paraguay | paraguayan ; paraguayans
peru | peruvian ; peruvians
philippines ; the philippines | filipino ; filipinos ; philippine
poland | polish
portugal | portuguese
puerto rico | puerto rican ; puerto ricans
qatar | qatari ; qataris
romania | romanian ; romanians
russia ; russian federation | russian ; russians
saudi arabia | saudi ; saudis
scotland | scottish ; scot ; scots
senegal | senegalese
serbia | serbian ; serbians ; serb ; serbs
singapore | singaporean ; singaporeans
slovakia | slovak ; slovaks ; slovakian
slovenia | slovenian ; slovenians ; slovene ; slovenes
south africa | south african ; south africans
south korea ; korea | south korean ; south koreans ; korean ; koreans
soviet union ; ussr | soviet ; soviets
spain | spanish ; spaniard ; spaniards
sweden | swedish
switzerland | swiss
syria | syrian ; syrians
taiwan ; chinese taipei | taiwanese
thailand | thai ; thais
trinidad and tobago | trinidadian ; trinidadians
tunisia | tunisian ; tunisians
turkey | turkish ; turk ; turks
uganda | ugandan ; ugandans
ukraine | ukrainian ; ukrainians
united states ; usa ; us* ; united states of america ; america | american ; americans
uruguay | uruguayan ; uruguayans
uzbekistan | uzbek ; uzbeks
venezuela | venezuelan ; venezuelans
vietnam | vietnamese
wales | welsh ; welshman ; welshmen
yugoslavia | yugoslav ; yugoslavs ; yugoslavian
zambia | zambian ; zambians
zimbabwe | zimbabwean ; zimbabweans
"""


def _build() -> dict[str, tuple[str, ...]]:
    """Each name and people-word → the texts a cell may write it as (the other side of its line)."""
    aliases: dict[str, set[str]] = {}
    for line in _COUNTRIES.strip().splitlines():
        names_part, people_part = line.split("|")
        names = [n.strip() for n in names_part.split(";")]
        people = [w.strip() for w in people_part.split(";")]
        for word in names + people:
            if not word.endswith("*"):  # "us", "uk": a cell's way to write the country, never a question's
                other = people if word in names else names
                aliases.setdefault(word, set()).update(w.removesuffix("*") for w in other)
    return {word: tuple(sorted(other)) for word, other in aliases.items()}


ALIASES = _build()
LONGEST = max(len(word.split()) for word in ALIASES)  # tokens in the longest name or people-word


def aliases(ngram: str) -> tuple[str, ...]:
    """The cell texts a question n-gram may stand for through a country ↔ people word ("austrian" →
    ("austria",), "germany" → ("german", "germans")); () for any other n-gram."""
    return ALIASES.get(ngram, ())
