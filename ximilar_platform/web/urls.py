from django.urls import path, register_converter

from ximilar_platform.web.views import (
    account,
    annotate,
    collections,
    dashboard,
    datasets,
    editor,
    flows,
    images,
    models,
    notifications,
    predict,
    similarity,
    tasks,
)


class KindConverter:
    """The kinds of task a page path may name; any other first segment is another page."""

    regex = "recognition|detection|similarity"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KindConverter, "kind")
app_name = "web"
KIND = "<kind:kind>/<uuid:task_id>"
urlpatterns = [
    path("login/", account.login, name="login"),
    path("logout/", account.logout, name="logout"),
    path("", dashboard.dashboard, name="dashboard"),
    path("tasks/new/", dashboard.create_task, name="create-task"),
    path("datasets/import/", datasets.import_dataset, name="import-dataset"),
    path("datasets/jobs/<uuid:job_id>/", datasets.job, name="dataset-job"),
    path("datasets/jobs/<uuid:job_id>/download/", datasets.download, name="dataset-download"),
    path("datasets/jobs/<uuid:job_id>/cancel/", datasets.cancel, name="dataset-cancel"),
    path("account/", account.account, name="account"),
    path("account/token/", account.issue_token, name="issue-token"),
    path("account/token/<int:token_id>/revoke/", account.revoke_token, name="revoke-token"),
    path("account/workspaces/", account.create_workspace, name="create-workspace"),
    path("account/workspaces/switch/", account.switch_workspace, name="switch-workspace"),
    path("account/workspaces/<uuid:workspace_id>/members/", account.add_member, name="add-member"),
    path("account/notifications/email/", notifications.set_email, name="notification-email"),
    path("account/webhooks/", notifications.create_webhook, name="create-webhook"),
    path("account/webhooks/<uuid:webhook_id>/delete/", notifications.delete_webhook, name="delete-webhook"),
    path(f"{KIND}/", tasks.overview, name="task"),
    path(f"{KIND}/training/", tasks.job_panel, name="task-job"),
    path(f"{KIND}/train/", tasks.train, name="train"),
    path(f"{KIND}/jobs/<uuid:job_id>/cancel/", tasks.cancel, name="cancel-job"),
    path(f"{KIND}/delete/", tasks.delete_task, name="delete-task"),
    path(f"{KIND}/export/", datasets.export, name="export-dataset"),
    path(f"{KIND}/labels/", tasks.labels, name="task-labels"),
    path(f"{KIND}/labels/new/", tasks.create_label, name="create-label"),
    path(f"{KIND}/labels/<uuid:label_id>/", tasks.edit_label, name="edit-label"),
    path(f"{KIND}/labels/<uuid:label_id>/delete/", tasks.delete_label, name="delete-label"),
    path(f"{KIND}/types/", tasks.change_types, name="task-types"),
    path(f"{KIND}/models/", models.versions, name="task-models"),
    path(f"{KIND}/test/", predict.test, name="task-test"),
    path(f"{KIND}/annotate/", annotate.landing, name="annotate"),
    path(f"{KIND}/annotate/run/", annotate.run_panel, name="annotate-run"),
    path(f"{KIND}/annotate/suggest/", annotate.suggest, name="annotate-suggest"),
    path(f"{KIND}/annotate/runs/<uuid:run_id>/cancel/", annotate.cancel_run, name="annotate-cancel-run"),
    path(f"{KIND}/annotate/accept/", annotate.accept_above, name="annotate-accept"),
    path(f"{KIND}/annotate/jobs/", annotate.create_job, name="annotate-create-job"),
    path(f"{KIND}/annotate/jobs/<uuid:job_id>/delete/", annotate.delete_job, name="annotate-delete-job"),
    path(f"{KIND}/annotate/settings/", annotate.change_settings, name="annotate-settings"),
    path(f"{KIND}/annotate/work/", editor.work, name="annotate-work"),
    path(f"{KIND}/annotate/images/<uuid:image_id>/", editor.image_data, name="annotate-image"),
    path("versions/<uuid:version_id>/", models.version, name="version"),
    path("versions/<uuid:version_id>/deploy/", models.deploy, name="deploy"),
    path("versions/<uuid:version_id>/delete/", models.delete, name="delete-version"),
    path("versions/<uuid:version_id>/download/", models.download, name="download-version"),
    path("images/", images.grid, name="images"),
    path("images/upload/", images.upload, name="upload"),
    path("images/bulk/", images.bulk, name="bulk"),
    path("images/<uuid:image_id>/", images.detail, name="image"),
    path("images/<uuid:image_id>/labels/", images.change_labels, name="image-labels"),
    path("images/<uuid:image_id>/delete/", images.delete_image, name="delete-image"),
    path("similarity/types/<uuid:type_id>/", similarity.groups, name="groups"),
    path("similarity/types/<uuid:type_id>/groups/", similarity.create_group, name="create-group"),
    path("similarity/groups/<uuid:group_id>/", similarity.group, name="group"),
    path("similarity/groups/<uuid:group_id>/change/", similarity.change_group, name="change-group"),
    path("similarity/groups/<uuid:group_id>/delete/", similarity.delete_group, name="delete-group"),
    path("collections/", collections.collections, name="collections"),
    path("collections/new/", collections.create, name="create-collection"),
    path("collections/<uuid:collection_id>/", collections.detail, name="collection"),
    path("collections/<uuid:collection_id>/search/", collections.search, name="search-collection"),
    path("collections/<uuid:collection_id>/insert/", collections.insert, name="insert-collection"),
    path("collections/<uuid:collection_id>/delete/", collections.delete, name="delete-collection"),
    path("flows/", flows.flows, name="flows"),
    path("flows/new/", flows.edit, name="new-flow"),
    path("flows/<uuid:flow_id>/", flows.edit, name="flow"),
    path("flows/<uuid:flow_id>/run/", flows.run, name="run-flow"),
    path("flows/<uuid:flow_id>/delete/", flows.delete, name="delete-flow"),
]
