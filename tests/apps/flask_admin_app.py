"""A Flask-Admin 2.x app made for the transparency suite: ``create_app(data_dir)``.

Flask-SQLAlchemy models in a SQLite file in ``data_dir`` (``Order`` with its ``OrderLine`` rows
as an inline model), one ``ModelView`` with search, a filter, a bulk action with a confirmation
("Mark shipped", beside the built-in "Delete"), a file upload field (files saved in
``data_dir/uploads``), and Flask-Admin's ``SecureForm``: WTForms' session CSRF on every form,
the row delete and action forms included.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, ClassVar

from flask import Flask, flash, redirect
from flask_admin import Admin
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import FileUploadField, SecureForm
from flask_admin.theme import Bootstrap4Theme
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Order(db.Model):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="new")
    note: Mapped[str | None] = mapped_column(String(500))
    attachment: Mapped[str | None] = mapped_column(String(200))
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order",
                                                   cascade="all, delete-orphan")

    def __str__(self) -> str:
        return f"Order {self.id}: {self.customer}"


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(default=1)
    order: Mapped[Order] = relationship(back_populates="lines")

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"


STATUSES = [("new", "New"), ("shipped", "Shipped"), ("cancelled", "Cancelled")]


class OrderView(ModelView):
    form_base_class = SecureForm  # WTForms' CSRF token in every admin form
    column_list = ("id", "customer", "status", "note", "attachment")
    column_searchable_list = ("customer", "note")
    column_filters = ("status",)
    column_default_sort = "id"
    form_columns = ("customer", "status", "note", "attachment", "lines")
    form_choices: ClassVar[dict[str, list[tuple[str, str]]]] = {"status": STATUSES}
    inline_models = ((OrderLine, {"form_columns": ("id", "product", "quantity")}),)

    def __init__(self, upload_dir: Path, **kwargs: Any) -> None:
        self.form_extra_fields = {
            "attachment": FileUploadField("Attachment", base_path=str(upload_dir)),
        }
        super().__init__(Order, db, **kwargs)

    @action("ship", "Mark shipped", "Mark the selected orders as shipped?")
    def action_ship(self, ids: list[str]) -> Any:
        orders = db.session.scalars(db.select(Order).where(Order.id.in_(map(int, ids)))).all()
        for order in orders:
            order.status = "shipped"
        db.session.commit()
        flash(f"{len(orders)} orders marked as shipped.", "success")
        return redirect(self.get_url(".index_view"))


def create_app(data_dir: Path) -> Flask:
    """The app, with a fresh database (and upload folder) in ``data_dir``."""
    upload_dir = data_dir / "uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),  # Flask's own (session, CSRF), not the middleware's
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{data_dir / 'shop.sqlite3'}",
    )
    db.init_app(app)
    with app.app_context():
        db.create_all()
    admin = Admin(app, name="Shop", theme=Bootstrap4Theme())
    admin.add_view(OrderView(upload_dir, name="Orders", endpoint="order"))
    return app
