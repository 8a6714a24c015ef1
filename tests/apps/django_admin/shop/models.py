"""Two models: an order (with an uploaded attachment) and its lines (edited inline)."""

from __future__ import annotations

from django.db import models


class Order(models.Model):
    STATUSES = (("new", "New"), ("shipped", "Shipped"), ("cancelled", "Cancelled"))

    customer = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=STATUSES, default="new")
    note = models.TextField(blank=True)
    attachment = models.FileField(upload_to="attachments/", blank=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"Order {self.pk}: {self.customer}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"
