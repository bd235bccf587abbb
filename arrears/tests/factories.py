"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

import datetime as dt

import factory

from arrears.accounts.models import Agency, Role, Team, User
from arrears.cases.models import Case
from arrears.portfolio.models import (
    Account,
    ContactPoint,
    Creditor,
    Customer,
    Instalment,
    Payment,
    Product,
)
from arrears.portfolio.services import ladder_default_ensure


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n}")
    name = factory.LazyAttribute(lambda o: f"第{o.code}组")


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"AG{n}")
    name = factory.LazyAttribute(lambda o: f"{o.code} 催收公司")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.COLLECTOR
    password = factory.django.Password("pass-Word-123")


class CreditorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Creditor
        django_get_or_create = ("code",)

    code = "DEMOBANK"
    name = "示范银行"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("creditor", "code")

    creditor = factory.SubFactory(CreditorFactory)
    code = "CASHLOAN"
    name = "现金贷"
    ladder = factory.LazyFunction(ladder_default_ensure)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    creditor = factory.SubFactory(CreditorFactory)
    customer_no = factory.Sequence(lambda n: f"C{n:05d}")
    name = "张三"
    id_number = "110105198803141237"


class ContactPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = "mobile"
    owner_role = "self"
    value = factory.Sequence(lambda n: f"138{n:08d}")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    product = factory.SubFactory(ProductFactory)
    creditor = factory.LazyAttribute(lambda o: o.product.creditor)
    customer = factory.SubFactory(CustomerFactory, creditor=factory.SelfAttribute("..creditor"))
    account_no = factory.Sequence(lambda n: f"ACC{n:07d}")
    principal_fen = 1_200_000
    open_date = dt.date(2026, 1, 15)
    term = 12
    first_due_date = dt.date(2026, 2, 15)


class InstalmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instalment

    account = factory.SubFactory(AccountFactory)
    seq = factory.Sequence(lambda n: n + 1)
    due_date = dt.date(2026, 2, 15)
    principal_due_fen = 100_000


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    account = factory.SubFactory(AccountFactory)
    creditor = factory.LazyAttribute(lambda o: o.account.creditor)
    txn_id = factory.Sequence(lambda n: f"TXN{n:08d}")
    paid_at = dt.datetime(2026, 2, 15, 1, 12, tzinfo=dt.UTC)
    amount_fen = 100_000


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    account = factory.SubFactory(AccountFactory)
    customer = factory.LazyAttribute(lambda o: o.account.customer)
