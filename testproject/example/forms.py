from __future__ import annotations

from django import forms


class UploadForm(forms.Form):
    file = forms.FileField()


class ProjectForm(forms.Form):
    organization = forms.CharField(max_length=100)
    project = forms.CharField(max_length=100)
