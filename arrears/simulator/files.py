"""Deterministic, streaming generator of creditor files in the import format.

The format is shared/formats/creditor-files.md. Every value is derived from the seed, the
simulated today ``as_of`` and the account's number ``n`` alone — ``random.Random(f"{seed}-{n}")``
for the loan and its payments, ``random.Random(f"{seed}-c-{m}")`` for its customer — so the
accounts, schedule and payments files agree with one another without any of them being held in
memory, and the same arguments always give byte-identical files.

Numbering: account ``n`` is ``f"{creditor}{n:09d}"``; a file of ``count`` accounts from ``start``
holds ``n = start … start + count - 1``. About 5% of customers hold two accounts: account ``n`` then
belongs to the customer of account ``n - 1`` (same customer number ``C{m:09d}``, name and ID,
``m`` being the customer's first account). The seed does not include the creditor: two creditors
generated with the same seed share their customers (use different seeds for different books).

Time: ``as_of`` is the simulated today (default: today in Asia/Shanghai). Loans open on one of the
730 days before it (6, 12 or 24 monthly instalments), so the book holds young, seasoned, repaid
and long-defaulted loans; payments run up to the end of the day before ``as_of``. How each
customer pays is ``arrears.simulator.behaviour``: a per-period model with a risk tier per customer,
calibrated so that month-end roll rates, M1 self-cure and the 30+ DPD balance share look like a
real consumer-loan book (``python -m arrears.simulator.behaviour`` prints them).
"""

from __future__ import annotations

import csv
import hashlib
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Context, Decimal, localcontext
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from arrears.simulator import behaviour
from arrears.simulator.behaviour import Ledger, RiskTier, Txn, add_months

TIME_ZONE = ZoneInfo("Asia/Shanghai")
OPEN_DAYS = 730  # loans open on one of the OPEN_DAYS days before as_of
_BIRTH_FIRST = date(1965, 1, 1)
_BIRTH_LAST = date(2002, 12, 31)

SECOND_ACCOUNT_SHARE = 0.05  # per account: "this account belongs to the previous account's customer"
MAX_CONTACTS = 4


def default_as_of() -> date:
    """The simulated today when none is given: today in Asia/Shanghai (the creditors' time zone)."""
    return datetime.now(TIME_ZONE).date()


# --- reference data ---------------------------------------------------------------------------


def _chars(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(pair.split(":")) for pair in text.split())  # type: ignore[misc]


# Roughly in order of frequency; drawn with weights falling with rank.
_SURNAMES = _chars(
    "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu 孙:sun "
    "马:ma 朱:zhu 胡:hu 郭:guo 何:he 高:gao 林:lin 罗:luo 郑:zheng 梁:liang 谢:xie 宋:song "
    "唐:tang 许:xu 韩:han 冯:feng 邓:deng 曹:cao 彭:peng 曾:zeng 肖:xiao 田:tian 董:dong "
    "袁:yuan 潘:pan 于:yu 蒋:jiang 蔡:cai 余:yu 杜:du 叶:ye 程:cheng 苏:su 魏:wei 吕:lv 丁:ding "
    "任:ren 沈:shen 姚:yao 卢:lu 姜:jiang 崔:cui 钟:zhong 谭:tan 陆:lu 汪:wang 范:fan 金:jin "
    "石:shi 廖:liao 贾:jia 夏:xia 韦:wei 付:fu 方:fang 白:bai 邹:zou 孟:meng 熊:xiong 秦:qin "
    "邱:qiu 江:jiang 尹:yin 薛:xue 闫:yan 段:duan 雷:lei 侯:hou 龙:long 史:shi 陶:tao 黎:li "
    "贺:he 顾:gu 毛:mao 郝:hao 龚:gong 邵:shao 万:wan 钱:qian 严:yan 覃:qin 武:wu 戴:dai "
    "莫:mo 孔:kong 向:xiang 汤:tang"
)
_SURNAME_CUM = list(accumulate(1.0 / (rank + 6) for rank in range(len(_SURNAMES))))

_MALE = _chars(
    "伟:wei 强:qiang 磊:lei 军:jun 勇:yong 杰:jie 涛:tao 斌:bin 超:chao 明:ming 刚:gang 平:ping "
    "辉:hui 鹏:peng 华:hua 飞:fei 鑫:xin 波:bo 宇:yu 浩:hao 凯:kai 健:jian 俊:jun 帆:fan 旭:xu "
    "宁:ning 龙:long 阳:yang 建:jian 国:guo 峰:feng 亮:liang 成:cheng 志:zhi 新:xin 晨:chen "
    "博:bo 宏:hong 海:hai 东:dong 振:zhen 毅:yi 坤:kun 睿:rui 轩:xuan 立:li 永:yong"
)
_FEMALE = _chars(
    "芳:fang 娜:na 敏:min 静:jing 丽:li 艳:yan 娟:juan 霞:xia 秀:xiu 玲:ling 英:ying 燕:yan "
    "萍:ping 红:hong 梅:mei 琳:lin 雪:xue 婷:ting 慧:hui 莉:li 颖:ying 倩:qian 洁:jie 琴:qin "
    "云:yun 丹:dan 蕾:lei 薇:wei 欣:xin 怡:yi 悦:yue 晶:jing 璐:lu 雯:wen 月:yue 瑶:yao 梦:meng "
    "诗:shi 琪:qi 佳:jia 凤:feng 兰:lan"
)
_NEUTRAL = _chars(
    "子:zi 文:wen 晓:xiao 思:si 雨:yu 嘉:jia 天:tian 一:yi 家:jia 春:chun 秋:qiu 小:xiao 世:shi"
)

# (region code, province, city ("" for the municipalities), district, area code, local digits)
_REGIONS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("110105", "北京市", "", "朝阳区", "010", 8),
    ("110108", "北京市", "", "海淀区", "010", 8),
    ("110102", "北京市", "", "西城区", "010", 8),
    ("310115", "上海市", "", "浦东新区", "021", 8),
    ("310104", "上海市", "", "徐汇区", "021", 8),
    ("120101", "天津市", "", "和平区", "022", 8),
    ("500103", "重庆市", "", "渝中区", "023", 8),
    ("440304", "广东省", "深圳市", "福田区", "0755", 8),
    ("440305", "广东省", "深圳市", "南山区", "0755", 8),
    ("440106", "广东省", "广州市", "天河区", "020", 8),
    ("440104", "广东省", "广州市", "越秀区", "020", 8),
    ("330106", "浙江省", "杭州市", "西湖区", "0571", 8),
    ("330203", "浙江省", "宁波市", "海曙区", "0574", 8),
    ("320102", "江苏省", "南京市", "玄武区", "025", 8),
    ("320506", "江苏省", "苏州市", "吴中区", "0512", 8),
    ("510104", "四川省", "成都市", "锦江区", "028", 8),
    ("510107", "四川省", "成都市", "武侯区", "028", 8),
    ("420106", "湖北省", "武汉市", "武昌区", "027", 8),
    ("610113", "陕西省", "西安市", "雁塔区", "029", 8),
    ("370102", "山东省", "济南市", "历下区", "0531", 8),
    ("370202", "山东省", "青岛市", "市南区", "0532", 8),
    ("410105", "河南省", "郑州市", "金水区", "0371", 8),
    ("430104", "湖南省", "长沙市", "岳麓区", "0731", 8),
    ("350203", "福建省", "厦门市", "思明区", "0592", 7),
    ("350102", "福建省", "福州市", "鼓楼区", "0591", 8),
    ("210102", "辽宁省", "沈阳市", "和平区", "024", 8),
    ("230103", "黑龙江省", "哈尔滨市", "南岗区", "0451", 8),
    ("220104", "吉林省", "长春市", "朝阳区", "0431", 8),
    ("130102", "河北省", "石家庄市", "长安区", "0311", 8),
    ("140105", "山西省", "太原市", "小店区", "0351", 7),
    ("340104", "安徽省", "合肥市", "蜀山区", "0551", 8),
    ("360103", "江西省", "南昌市", "西湖区", "0791", 8),
    ("450103", "广西壮族自治区", "南宁市", "青秀区", "0771", 7),
    ("530102", "云南省", "昆明市", "五华区", "0871", 8),
    ("520102", "贵州省", "贵阳市", "南明区", "0851", 8),
)

_MOBILE_PREFIXES = (
    *(str(p) for p in range(130, 140)),
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "173",
    "175",
    "176",
    "177",
    "178",
    *(str(p) for p in range(180, 190)),
    "191",
    "193",
    "195",
    "196",
    "197",
    "198",
    "199",
)

_STREETS = (
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "文化路",
    "新华路",
    "长江路",
    "黄河路",
    "胜利路",
    "光明路",
    "幸福路",
    "青年路",
    "东风路",
    "朝阳路",
    "学府路",
    "科技路",
    "滨江大道",
    "世纪大道",
    "府前街",
    "西大街",
    "东大街",
    "南大街",
    "北大街",
    "育才路",
    "迎宾路",
    "工业大道",
    "体育路",
)
_ESTATES = (
    "阳光花园",
    "锦绣家园",
    "幸福小区",
    "金色家园",
    "翠苑",
    "华府",
    "名都",
    "绿城花园",
    "书香苑",
    "和谐家园",
    "紫荆苑",
    "御景湾",
    "学府小区",
    "新城公寓",
    "丽景苑",
    "康乐小区",
)
_BUILDINGS = (
    "国际大厦",
    "金融中心",
    "科技园A座",
    "科技园B座",
    "商务中心",
    "创业大厦",
    "时代广场",
    "财富中心",
)
_BRANDS = (
    "恒达",
    "华信",
    "鑫源",
    "博远",
    "宏图",
    "锦程",
    "瑞丰",
    "天成",
    "中盛",
    "嘉禾",
    "永安",
    "金鹏",
    "凯旋",
    "东方",
    "新世纪",
    "汇通",
    "联创",
    "远航",
    "长城",
    "盛世",
    "同仁",
    "顺达",
    "海纳",
    "立信",
)
_INDUSTRIES = (
    "科技",
    "贸易",
    "建筑工程",
    "物流",
    "餐饮管理",
    "电子",
    "商贸",
    "机械制造",
    "服装",
    "文化传媒",
    "医药",
    "房地产开发",
    "教育咨询",
    "汽车服务",
    "网络科技",
    "食品",
    "物业管理",
    "装饰工程",
)
_EMAIL_DOMAINS = (
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "foxmail.com",
    "outlook.com",
    "139.com",
    "sohu.com",
)
# (relation as creditors write it, whether the contact usually shares the debtor's surname)
_RELATIONS_AFTER_FIRST = (
    ("父母", True),
    ("兄弟姐妹", True),
    ("亲属", False),
    ("同事", False),
    ("朋友", False),
)
_TERMS = (6, 12, 24)
_TERM_CUM = list(accumulate((20, 50, 30)))
# (from fen, to fen, weight): small loans are the most common.
_PRINCIPAL_BANDS = (
    (300_000, 1_000_000),
    (1_000_000, 3_000_000),
    (3_000_000, 8_000_000),
    (8_000_000, 20_000_000),
)
_PRINCIPAL_CUM = list(accumulate((35, 30, 22, 13)))
# Monthly interest rates in units of 1/100,000 (0.6% … 1.99% a month, 7.2% … 24% a year).
_RATES = (600, 800, 1000, 1250, 1500, 1990)
_DECIMAL = Context(prec=34)

ACCOUNT_HEADERS: tuple[tuple[str, str], ...] = (
    ("creditor", "委托方"),
    ("account_no", "账号"),
    ("product", "产品"),
    ("customer_id", "客户号"),
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("mobile", "手机"),
    ("home_phone", "家庭电话"),
    ("work_phone", "单位电话"),
    ("email", "邮箱"),
    ("home_address", "家庭地址"),
    ("work_address", "单位地址"),
    ("employer", "单位名称"),
    ("principal", "本金"),
    ("open_date", "放款日"),
    ("term", "期数"),
    ("instalment", "每期应还"),
    ("first_due_date", "首期还款日"),
    *(
        (f"contact{number}_{part}", f"联系人{number}{part_zh}")
        for number in range(1, MAX_CONTACTS + 1)
        for part, part_zh in (("name", "姓名"), ("relation", "关系"), ("phone", "电话"))
    ),
    ("flags", "特殊标记"),
)
SCHEDULE_HEADERS: tuple[tuple[str, str], ...] = (
    ("account_no", "账号"),
    ("seq", "期次"),
    ("due_date", "应还日"),
    ("principal_due", "应还本金"),
    ("interest_due", "应还利息"),
    ("fee_due", "应还费用"),
    ("premium_due", "应还保费"),
)
PAYMENT_HEADERS: tuple[tuple[str, str], ...] = (
    ("account_no", "账号"),
    ("txn_id", "流水号"),
    ("paid_at", "还款时间"),
    ("amount", "还款金额"),
    ("channel", "渠道"),
    ("reversal_of", "冲正原流水号"),
)


# --- small helpers ---------------------------------------------------------------------------


def account_no(creditor: str, n: int) -> str:
    """The account number of account ``n`` of ``creditor``."""
    return f"{creditor}{n:09d}"


def money(fen: int) -> str:
    """Integer fen as a yuan amount with two decimals (``-12.05`` for -1205)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def id_check_digit(body: str) -> str:
    """GB 11643 check character for the first 17 digits of a PRC ID."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(digit) * weight for digit, weight in zip(body, weights, strict=True)) % 11]


def _uniform(seed: int | str, tag: str, n: int) -> float:
    """A stable pseudo-random number in [0, 1) for (seed, tag, n), cheaper than a Random()."""
    digest = hashlib.blake2b(f"{seed}-{tag}-{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _is_second_account(seed: int | str, n: int) -> bool:
    # Never chains: a second account's predecessor is never a second account itself.
    return (
        n > 1
        and _uniform(seed, "dup", n) < SECOND_ACCOUNT_SHARE
        and _uniform(seed, "dup", n - 1) >= SECOND_ACCOUNT_SHARE
    )


def customer_number(seed: int | str, n: int) -> int:
    """``m``: the account number whose customer owns account ``n`` (``n`` or ``n - 1``)."""
    return n - 1 if _is_second_account(seed, n) else n


def _pick(rng: random.Random, cum: list[float] | list[int]) -> int:
    return bisect(cum, rng.random() * cum[-1])


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"


def _landline(rng: random.Random, region: tuple[str, str, str, str, str, int]) -> str:
    digits = region[5]
    return f"{region[4]}-{rng.randint(2, 7)}{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"


def _given_name(rng: random.Random, female: bool) -> tuple[str, str]:
    pool = _FEMALE if female else _MALE
    if rng.random() < 0.3:
        char, pinyin = rng.choice(pool)
        return char, pinyin
    first = rng.choice(_NEUTRAL if rng.random() < 0.35 else pool)
    second = rng.choice(pool)
    return first[0] + second[0], first[1] + second[1]


def _person(rng: random.Random, *, female: bool, surname: str | None = None) -> tuple[str, str, str]:
    """(full name, surname pinyin, given-name pinyin)."""
    if surname is None:
        surname, surname_pinyin = _SURNAMES[_pick(rng, _SURNAME_CUM)]
    else:
        surname_pinyin = next(p for s, p in _SURNAMES if s == surname)
    given, given_pinyin = _given_name(rng, female)
    return surname + given, surname_pinyin, given_pinyin


def _address(rng: random.Random, region: tuple[str, str, str, str, str, int]) -> str:
    _code, province, city, district, _area, _digits = region
    return (
        f"{province}{city}{district}{rng.choice(_STREETS)}{rng.randint(1, 999)}号"
        f"{rng.choice(_ESTATES)}{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元"
        f"{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
    )


def _work_address(rng: random.Random, region: tuple[str, str, str, str, str, int]) -> str:
    _code, province, city, district, _area, _digits = region
    return (
        f"{province}{city}{district}{rng.choice(_STREETS)}{rng.randint(1, 999)}号"
        f"{rng.choice(_BUILDINGS)}{rng.randint(2, 40)}楼"
    )


def _employer(rng: random.Random, region: tuple[str, str, str, str, str, int]) -> str:
    _code, province, city, district, _area, _digits = region
    place = (city or province)[:-1]
    roll = rng.random()
    if roll < 0.08:
        return f"{place}市第{rng.randint(1, 9)}人民医院"
    if roll < 0.14:
        return f"{place}{district}{rng.choice(('实验小学', '第一中学', '人民政府', '税务局', '供电公司'))}"
    suffix = "股份有限公司" if rng.random() < 0.15 else "有限公司"
    return f"{place}{rng.choice(_BRANDS)}{rng.choice(_INDUSTRIES)}{suffix}"


def _email(rng: random.Random, surname_pinyin: str, given_pinyin: str, born: date) -> str:
    domain = rng.choice(_EMAIL_DOMAINS)
    if domain == "qq.com":
        return f"{rng.randint(10_000, 3_999_999_999)}@qq.com"
    style = rng.randrange(4)
    if style == 0:
        local = f"{surname_pinyin}{given_pinyin}{born.year % 100:02d}"
    elif style == 1:
        local = f"{given_pinyin}.{surname_pinyin}"
    elif style == 2:
        local = f"{surname_pinyin}{given_pinyin[:1]}{rng.randint(1, 9999)}"
    else:
        local = f"{surname_pinyin}_{given_pinyin}{born:%m%d}"
    return f"{local}@{domain}"


# --- customers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Customer:
    customer_no: str
    name: str
    id_number: str
    mobile: str
    home_phone: str
    work_phone: str
    email: str
    home_address: str
    work_address: str
    employer: str
    contacts: tuple[tuple[str, str, str], ...]  # (name, relation, phone)
    flags: str


def customer(seed: int | str, m: int) -> Customer:
    """The customer whose first account is account ``m``."""
    rng = random.Random(f"{seed}-c-{m}")
    female = rng.random() < 0.45
    name, surname_pinyin, given_pinyin = _person(rng, female=female)
    surname = name[0]
    born_region = _REGIONS[rng.randrange(len(_REGIONS))]
    born = _BIRTH_FIRST + timedelta(days=rng.randrange((_BIRTH_LAST - _BIRTH_FIRST).days + 1))
    # The 17th digit is odd for men and even for women.
    sequence = rng.randrange(100) * 10 + rng.randrange(0 if female else 1, 10, 2)
    body = f"{born_region[0]}{born:%Y%m%d}{sequence:03d}"
    id_number = body + id_check_digit(body)
    # Most people live where they were registered; others have moved to a big city.
    region = born_region if rng.random() < 0.7 else _REGIONS[rng.randrange(len(_REGIONS))]
    mobile = _mobile(rng)
    if rng.random() < 0.05:
        mobile += "," + _mobile(rng)
    home_phone = _landline(rng, region) if rng.random() < 0.25 else ""
    employed = rng.random() < 0.85
    if employed:
        employer = _employer(rng, region)
        work_phone = _landline(rng, region) if rng.random() < 0.3 else ""
        work_address = _work_address(rng, region) if rng.random() < 0.5 else ""
    else:
        employer = rng.choice(("", "个体经营", "自由职业"))
        work_phone = work_address = ""
    email = _email(rng, surname_pinyin, given_pinyin, born) if rng.random() < 0.35 else ""
    home_address = _address(rng, region) if rng.random() < 0.9 else ""

    age = 2026 - born.year
    married = age >= 25 and rng.random() < 0.7
    contacts: list[tuple[str, str, str]] = []
    wanted = rng.choice((2, 2, 3, 3, 4))
    if married:
        contacts.append((_person(rng, female=not female)[0], "配偶", _mobile(rng)))
    choices = list(_RELATIONS_AFTER_FIRST)
    while len(contacts) < wanted:
        relation, same_surname = choices.pop(rng.randrange(len(choices)))
        contact_name = _person(rng, female=rng.random() < 0.5, surname=surname if same_surname else None)[0]
        contacts.append((contact_name, relation, _mobile(rng)))

    roll = rng.random()
    flags = "困难" if roll < 0.004 else "禁催" if roll < 0.005 else "死亡" if roll < 0.0055 else ""
    return Customer(
        customer_no=f"C{m:09d}",
        name=name,
        id_number=id_number,
        mobile=mobile,
        home_phone=home_phone,
        work_phone=work_phone,
        email=email,
        home_address=home_address,
        work_address=work_address,
        employer=employer,
        contacts=tuple(contacts),
        flags=flags,
    )


# --- loans and their histories ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loan:
    """An account's loan terms and its customer's risk tier (integer fen throughout)."""

    n: int
    open_date: date
    term: int
    principal_fen: int
    rate: int  # monthly, in 1/100,000
    instalment_fen: int
    product_pick: float
    tier: RiskTier

    @property
    def first_due_date(self) -> date:
        return add_months(self.open_date, 1)

    def due_date(self, seq: int) -> date:
        # From the first due date, as the importer generates a schedule when no file is sent, so
        # an account's due dates are the same with or without its schedule file.
        return add_months(self.first_due_date, seq - 1)

    def schedule(self) -> list[tuple[int, date, int, int]]:
        """(seq, due date, principal fen, interest fen): an amortising schedule summing to the principal."""
        rows = []
        balance = self.principal_fen
        first_due = self.first_due_date
        for seq in range(1, self.term + 1):
            if seq < self.term:
                # Interest rounds down, so with the instalment rounded up no instalment exceeds it.
                interest = balance * self.rate // 100_000
                principal = self.instalment_fen - interest
            else:
                # The last one takes the rounding (a few fen more interest than the formula) so
                # that every instalment totals ``instalment_fen``: the same totals the importer
                # generates for an account sent without a schedule file.
                principal = balance
                interest = self.instalment_fen - balance
            balance -= principal
            rows.append((seq, add_months(first_due, seq - 1), principal, interest))
        return rows

    def dues(self) -> list[tuple[date, int]]:
        """(due date, total due fen) of each instalment (each ``instalment_fen``)."""
        return [(due, principal + interest) for _seq, due, principal, interest in self.schedule()]


@dataclass(frozen=True, slots=True)
class History:
    """A loan and every payment its customer made up to the day before ``as_of``."""

    loan: Loan
    payments: list[Txn]

    def ledger(self) -> Ledger:
        return Ledger(
            open_date=self.loan.open_date,
            dues=self.loan.dues(),
            payments=[(txn.paid_at.date(), txn.amount_fen) for txn in self.payments],
        )


def _instalment(principal_fen: int, rate: int, term: int) -> int:
    with localcontext(_DECIMAL):
        r = Decimal(rate) / 100_000
        payment = Decimal(principal_fen) * r / (1 - (1 + r) ** -term)
        return int(payment.to_integral_value(rounding=ROUND_CEILING))


def _tier(seed: int | str, n: int) -> RiskTier:
    # Drawn per customer, so a customer's two accounts behave alike.
    return behaviour.tier_for(_uniform(seed, "risk", customer_number(seed, n)))


def loan(seed: int | str, n: int, *, as_of: date | None = None) -> Loan:
    """The loan of account ``n``; the same (seed, n, as_of) always gives the same loan."""
    rng = random.Random(f"{seed}-{n}")
    return _loan(rng, seed, n, as_of or default_as_of())


def _loan(rng: random.Random, seed: int | str, n: int, as_of: date) -> Loan:
    open_date = as_of - timedelta(days=rng.randint(1, OPEN_DAYS))
    term = _TERMS[_pick(rng, _TERM_CUM)]
    low, high = _PRINCIPAL_BANDS[_pick(rng, _PRINCIPAL_CUM)]
    principal = rng.randrange(low, high)
    if rng.random() < 0.6:
        principal = max(low, principal // 10_000 * 10_000)  # a round number of hundreds of yuan
    rate = rng.choice(_RATES)
    return Loan(
        n=n,
        open_date=open_date,
        term=term,
        principal_fen=principal,
        rate=rate,
        instalment_fen=_instalment(principal, rate, term),
        product_pick=rng.random(),
        tier=_tier(seed, n),
    )


def history(seed: int | str, n: int, *, as_of: date | None = None) -> History:
    """Account ``n``'s loan and its payments up to the end of the day before ``as_of``."""
    as_of = as_of or default_as_of()
    rng = random.Random(f"{seed}-{n}")
    terms = _loan(rng, seed, n, as_of)  # the rng goes on to drive this account's payments
    payments = behaviour.simulate(rng, terms.dues(), tier=terms.tier, last_day=as_of - timedelta(days=1))
    return History(terms, payments)


def histories(
    *, count: int, seed: int | str = 1, start: int = 1, as_of: date | None = None
) -> Iterator[History]:
    """``history`` of ``count`` accounts from ``start``, one at a time (nothing is kept)."""
    as_of = as_of or default_as_of()
    for n in range(start, start + count):
        yield history(seed, n, as_of=as_of)


def ledgers(
    *, count: int, seed: int | str = 1, start: int = 1, as_of: date | None = None
) -> Iterator[Ledger]:
    """What ``behaviour.calibration_report`` reads of ``count`` accounts from ``start``: the same
    schedules and payments as ``write_schedule_csv`` and ``write_payments_csv`` (natural count)."""
    for item in histories(count=count, seed=seed, start=start, as_of=as_of):
        yield item.ledger()


def delinquent_account_numbers(
    *,
    creditor: str,
    count: int,
    seed: int | str = 1,
    start: int = 1,
    as_of: date | None = None,
    min_dpd: int = 1,
    tolerance_fen: int = 1000,
) -> Iterator[str]:
    """Account numbers, among ``count`` accounts from ``start``, at least ``min_dpd`` days past due at
    the end of the day before ``as_of`` (the last day of payments), by the engine's definition
    with a product tolerance of ``tolerance_fen``."""
    as_of = as_of or default_as_of()
    last_day = as_of - timedelta(days=1)
    for n in range(start, start + count):
        ledger = history(seed, n, as_of=as_of).ledger()
        if behaviour.dpd_on(ledger, last_day, tolerance_fen=tolerance_fen) >= min_dpd:
            yield account_no(creditor, n)


def natural_payment_count(
    *, accounts: int, seed: int | str = 1, start: int = 1, as_of: date | None = None
) -> int:
    """How many payment rows the simulated customers make (reversals included), i.e. what
    ``write_payments_csv`` writes when ``count`` is not given."""
    return sum(len(item.payments) for item in histories(count=accounts, seed=seed, start=start, as_of=as_of))


# --- file writing ----------------------------------------------------------------------------


def _header(columns: tuple[tuple[str, str], ...], english: bool) -> list[str]:
    return [english_name if english else chinese for english_name, chinese in columns]


def _open_csv(path: Path | str, encoding: str) -> Any:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.open("w", encoding=encoding, errors="strict", newline="", buffering=1 << 20)


def _account_rows(
    *, creditor: str, products: Sequence[str], count: int, seed: int | str, start: int, as_of: date | None
) -> Iterator[list[str]]:
    if not products:
        raise ValueError("products is empty")
    as_of = as_of or default_as_of()
    last: tuple[int, Customer] | None = None
    for n in range(start, start + count):
        m = customer_number(seed, n)
        if last is not None and last[0] == m:
            person = last[1]
        else:
            person = customer(seed, m)
            last = (m, person)
        terms = loan(seed, n, as_of=as_of)
        contacts: list[str] = []
        for index in range(MAX_CONTACTS):
            contacts.extend(person.contacts[index] if index < len(person.contacts) else ("", "", ""))
        yield [
            creditor,
            account_no(creditor, n),
            products[int(terms.product_pick * len(products))],
            person.customer_no,
            person.name,
            person.id_number,
            person.mobile,
            person.home_phone,
            person.work_phone,
            person.email,
            person.home_address,
            person.work_address,
            person.employer,
            money(terms.principal_fen),
            terms.open_date.isoformat(),
            str(terms.term),
            money(terms.instalment_fen),
            terms.first_due_date.isoformat(),
            *contacts,
            person.flags,
        ]


def write_accounts_csv(
    path: Path | str,
    *,
    creditor: str,
    products: Sequence[str],
    count: int,
    seed: int | str = 1,
    start: int = 1,
    as_of: date | None = None,
    encoding: str = "utf-8",
    english_headers: bool = False,
) -> None:
    """An accounts file of ``count`` accounts numbered from ``start`` (streamed row by row).

    ``encoding`` is any Python codec the importer reads: ``utf-8``, ``utf-8-sig``, ``gbk``, ``gb18030``.
    ``as_of`` is the simulated today (default: today in Asia/Shanghai); give the same one to the
    schedule and payments writers.
    """
    with _open_csv(path, encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(_header(ACCOUNT_HEADERS, english_headers))
        for row in _account_rows(
            creditor=creditor, products=products, count=count, seed=seed, start=start, as_of=as_of
        ):
            writer.writerow(row)


def write_accounts_xlsx(
    path: Path | str,
    *,
    creditor: str,
    products: Sequence[str],
    count: int,
    seed: int | str = 1,
    start: int = 1,
    as_of: date | None = None,
    english_headers: bool = False,
) -> None:
    """The same accounts as ``write_accounts_csv`` as an XLSX workbook (dates as date cells,
    amounts and terms as numbers, IDs and phones as text). For small files: tests and demos."""
    from openpyxl import Workbook

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("accounts")
    sheet.append(_header(ACCOUNT_HEADERS, english_headers))
    numeric = {name for name, _zh in ACCOUNT_HEADERS if name in {"principal", "instalment"}}
    dates = {"open_date", "first_due_date"}
    names = [name for name, _zh in ACCOUNT_HEADERS]
    for row in _account_rows(
        creditor=creditor, products=products, count=count, seed=seed, start=start, as_of=as_of
    ):
        cells: list[Any] = []
        for name, value in zip(names, row, strict=True):
            if name in numeric:
                cells.append(Decimal(value))
            elif name in dates:
                cells.append(date.fromisoformat(value))
            elif name == "term":
                cells.append(int(value))
            else:
                cells.append(value or None)
        sheet.append(cells)
    workbook.save(target)


def write_schedule_csv(
    path: Path | str,
    *,
    creditor: str,
    count_accounts: int,
    seed: int | str = 1,
    start: int = 1,
    as_of: date | None = None,
    encoding: str = "utf-8",
    english_headers: bool = False,
) -> int:
    """Every instalment of the first ``count_accounts`` accounts from ``start``; returns the row count.

    Each account's schedule amortises its principal at its rate: the instalments add up to the
    principal, and each one (principal + interest) is at most the account's ``每期应还``.
    """
    as_of = as_of or default_as_of()
    rows = 0
    with _open_csv(path, encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(_header(SCHEDULE_HEADERS, english_headers))
        for n in range(start, start + count_accounts):
            number = account_no(creditor, n)
            for seq, due, principal, interest in loan(seed, n, as_of=as_of).schedule():
                writer.writerow(
                    [number, seq, due.isoformat(), money(principal), money(interest), "0.00", "0.00"]
                )
                rows += 1
    return rows


def _split(rng: random.Random, amount: int, parts: int) -> list[int]:
    """``amount`` fen in ``parts`` positive pieces (whole yuan when the amount allows)."""
    parts = max(1, min(parts, amount))
    if parts == 1:
        return [amount]
    unit = 100 if amount >= parts * 100 else 1
    cuts = sorted(rng.sample(range(1, amount // unit), parts - 1)) if amount // unit > parts - 1 else []
    if len(cuts) != parts - 1:  # too small to cut in whole units
        cuts = sorted(rng.sample(range(1, amount), parts - 1))
        unit = 1
    points = [0, *(cut * unit for cut in cuts), amount]
    return [b - a for a, b in pairwise(points)]


def _fit(rng: random.Random, payments: list[Txn], need: int) -> list[Txn]:
    """``need`` rows out of an account's natural ``payments``: the earliest ones when fewer are
    needed; when more, the plain payments (neither reversed nor reversals) paid in pieces a
    few seconds to minutes apart on the same day, so what was paid by each day is unchanged."""
    if need <= len(payments):
        return payments[:need]
    reversed_rows = {txn.reversal_of for txn in payments if txn.reversal_of is not None}
    plain = [j for j, txn in enumerate(payments) if txn.amount_fen > 0 and j not in reversed_rows]
    if not plain:
        return payments
    base, extra = divmod(need - len(payments), len(plain))
    parts = {j: 1 + base + (1 if rank < extra else 0) for rank, j in enumerate(plain)}
    fitted: list[Txn] = []
    moved: dict[int, int] = {}  # old index → new index, for reversal_of
    for j, txn in enumerate(payments):
        if j not in parts:
            moved[j] = len(fitted)
            reverses = None if txn.reversal_of is None else moved[txn.reversal_of]
            fitted.append(Txn(txn.paid_at, txn.amount_fen, txn.channel, reverses))
            continue
        end_of_day = datetime.combine(txn.paid_at.date(), datetime.max.time()).replace(microsecond=0)
        paid_at = txn.paid_at
        for piece in _split(rng, txn.amount_fen, parts[j]):
            fitted.append(Txn(paid_at, piece, txn.channel))
            paid_at = min(paid_at + timedelta(seconds=rng.randint(1, 120)), end_of_day)
    return fitted


def _payment_rows(number: str, n: int, payments: list[Txn]) -> list[tuple[str, str, str, str, str, str]]:
    # P/R + account number + row sequence: unique within a creditor, stable for the same args.
    ids = [f"{'R' if txn.amount_fen < 0 else 'P'}{n:010d}{seq:04d}" for seq, txn in enumerate(payments, 1)]
    return [
        (
            number,
            ids[j],
            f"{txn.paid_at:%Y-%m-%d %H:%M:%S}",
            money(txn.amount_fen),
            txn.channel,
            "" if txn.reversal_of is None else ids[txn.reversal_of],
        )
        for j, txn in enumerate(payments)
    ]


def write_payments_csv(
    path: Path | str,
    *,
    creditor: str,
    accounts: int,
    count: int | None = None,
    seed: int | str = 1,
    start: int = 1,
    as_of: date | None = None,
    encoding: str = "utf-8",
    english_headers: bool = False,
) -> int:
    """The payments of the ``accounts`` accounts from ``start``, up to the day before ``as_of``;
    returns the number of rows.

    Without ``count``, every customer pays exactly as ``arrears.simulator.behaviour`` says
    (``natural_payment_count`` rows): this is the realistic book. With ``count`` (benchmarks),
    exactly ``count`` rows are shared out in proportion to what each customer pays: with fewer,
    each account keeps its earliest payments; with more, payments are split into pieces on the
    same day. Times are Asia/Shanghai; a reversal (negative amount, ``冲正原流水号`` set) follows
    its payment in the same file. Transaction ids are ``P``/``R`` + account number + sequence,
    unique within a creditor.

    One pass over the accounts, two with ``count`` (the first only sums the shares); no rows
    are held in memory beyond one account's.
    """
    as_of = as_of or default_as_of()
    total_weight = 0
    if count is not None:
        total_weight = natural_payment_count(accounts=accounts, seed=seed, start=start, as_of=as_of)
        if count > 0 and total_weight == 0:
            raise ValueError(f"none of the {accounts} accounts from {start} has a payment to make")
    written = 0
    cumulative = 0
    with _open_csv(path, encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(_header(PAYMENT_HEADERS, english_headers))
        for n in range(start, start + accounts):
            if count is not None and written >= count:
                break
            payments = history(seed, n, as_of=as_of).payments
            if not payments:
                continue
            if count is not None:
                cumulative += len(payments)
                need = count * cumulative // total_weight - written
                payments = _fit(random.Random(f"{seed}-split-{n}"), payments, need)
            writer.writerows(_payment_rows(account_no(creditor, n), n, payments))
            written += len(payments)
    if count is not None and written != count:
        # Only when instalments are too small to split into the pieces asked for.
        raise ValueError(f"wrote {written} payment rows instead of {count}")
    return written
