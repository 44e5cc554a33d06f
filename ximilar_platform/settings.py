"""Django settings: every value comes from an environment variable of the same name.

With no environment at all the service runs on its embedded defaults: SQLite, files
and a Celery broker under ``DATA_DIR``. ``DATABASE_URL`` and ``REDIS_URL`` switch the
same code to Postgres and Redis; ``AWS_STORAGE_BUCKET_NAME`` to S3-compatible storage.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ximilar_platform.env import env_bool, env_float, env_int, env_list, env_rate, env_secret, env_str, persisted_secret

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY") or persisted_secret(DATA_DIR / "secret_key")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    # the layers, bottom to top: an app imports only from apps listed before it (.importlinter)
    "ximilar_platform.accounts",
    "ximilar_platform.core",
    "ximilar_platform.notifications",
    "ximilar_platform.images",
    "ximilar_platform.training_jobs",
    "ximilar_platform.serving",
    "ximilar_platform.ready_services",
    "ximilar_platform.recognition",
    "ximilar_platform.detection",
    "ximilar_platform.similarity",
    "ximilar_platform.collections",
    "ximilar_platform.flows",
    "ximilar_platform.annotate",
    "ximilar_platform.datasets",
    "ximilar_platform.web",
]

MIDDLEWARE = [
    "ximilar_platform.core.request_id.RequestIdMiddleware",  # first: every answer and log record has the id
    "ximilar_platform.core.request_metrics.RequestMetrics",
    "ximilar_platform.core.operations.OperationalEndpoints",  # /healthz, /readyz, /metrics before the Host check
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ximilar_platform.web.middleware.WebErrors",
]

ROOT_URLCONF = "ximilar_platform.urls"
WSGI_APPLICATION = "ximilar_platform.wsgi.application"
# The official client strips trailing slashes; a redirect would turn its POSTs into GETs.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ximilar_platform.web.context.navigation",
            ]
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
# SQLite's flush per commit: NORMAL survives any crash of our processes (not the machine's power
# loss, like the image files, which are written without fsync); FULL flushes every commit.
SQLITE_SYNCHRONOUS = env_str("SQLITE_SYNCHRONOUS", "NORMAL").upper()
if SQLITE_SYNCHRONOUS not in {"NORMAL", "FULL"}:
    raise ImproperlyConfigured(f"SQLITE_SYNCHRONOUS must be 'NORMAL' or 'FULL', not {SQLITE_SYNCHRONOUS!r}")
# Persistent connections (checked before reuse): opening one per request cost every API call a
# connect, which on Postgres is a TCP handshake and an authentication.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The API server and the worker write to one file: wait for locks instead of failing. WAL: a
    # commit appends to one log (readers never block the writer), and with synchronous=NORMAL it
    # is not flushed to the disk each time: the rollback journal's three fsyncs per commit, taken
    # under the one write lock, capped every writing request at about 1/(15 ms).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={SQLITE_SYNCHRONOUS}",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# The web app (/app/): Django's session login; the API keeps its tokens.
LOGIN_URL = "/app/login/"
LOGIN_REDIRECT_URL = "/app/"
LOGOUT_REDIRECT_URL = "/app/login/"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
WEB_PAGE_SIZE = env_int("WEB_PAGE_SIZE", 60)  # thumbnails per page of the image grid
STATIC_ROOT = env_str("STATIC_ROOT") or None  # only for collectstatic; WhiteNoise uses the finders
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# Files: local disk by default, S3-compatible storage when a bucket is configured.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media")  # empty (as in .env.example) = default
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
    AWS_ACCESS_KEY_ID = env_secret("AWS_ACCESS_KEY_ID") or None
    AWS_SECRET_ACCESS_KEY = env_secret("AWS_SECRET_ACCESS_KEY") or None
    AWS_QUERYSTRING_AUTH = True  # image URLs are signed, so they work without the API token
    AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 7 * 24 * 3600)

# Request bodies carry base64 images: allow several large records per request.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 100 * 1024 * 1024)
API_MAX_IMAGE_BODY_BYTES = env_int("API_MAX_IMAGE_BODY_BYTES", DATA_UPLOAD_MAX_MEMORY_SIZE)  # views taking images
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 2 * 1024 * 1024)  # every other API body (CRUD)
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 32)  # arrays and objects nested in one JSON body
API_MAX_JSON_VALUES = env_int("API_MAX_JSON_VALUES", 2_500_000)  # arrays, objects and items in one JSON body
CSRF_FAILURE_VIEW = "ximilar_platform.core.views.csrf_failure"
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Images.
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 20 * 1024 * 1024)
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 50_000_000)  # a 48 MP phone photo fits; models see far less
REQUEST_MAX_PIXELS = env_int("REQUEST_MAX_PIXELS", 200_000_000)  # the decoded images of one request together
# JPEGs only predicted on decode at a reduced scale keeping their sides at least this and twice the model's input
PREDICT_DECODE_MIN_SIDE = env_int("PREDICT_DECODE_MIN_SIDE", 1024)  # 0: always at full size
TRAINING_IMAGE_MAX_SIDE = env_int("TRAINING_IMAGE_MAX_SIDE", 1024)
THUMBNAIL_SIZE = env_int("THUMBNAIL_SIZE", 256)
IMAGE_KEEP_GPS = env_bool("IMAGE_KEEP_GPS", False)  # stored originals keep their EXIF GPS (where they were taken)
# Files of training images that no row names (a crash mid-upload, a lost deletion job) are deleted by
# every worker every ORPHAN_FILE_SWEEP_SECONDS (0: never; `manage.py sweep_orphan_files` by hand)
# once older than ORPHAN_FILE_MIN_AGE: a younger one may belong to an upload not yet committed.
ORPHAN_FILE_SWEEP_SECONDS = env_float("ORPHAN_FILE_SWEEP_SECONDS", 3600)
ORPHAN_FILE_MIN_AGE = env_float("ORPHAN_FILE_MIN_AGE", 3600)
URL_FETCH_TIMEOUT = env_float("URL_FETCH_TIMEOUT", 10.0)
URL_FETCH_ALLOW_LOOPBACK = env_bool("URL_FETCH_ALLOW_LOOPBACK", False)
URL_FETCH_ALLOW_PRIVATE = env_bool("URL_FETCH_ALLOW_PRIVATE", False)
# seconds all URL downloads of one request take together; each gets at most URL_FETCH_TIMEOUT. 0: no budget
REQUEST_URL_FETCH_BUDGET = env_float("REQUEST_URL_FETCH_BUDGET", 30.0)
MAX_BULK_IMAGES = env_int("MAX_BULK_IMAGES", 1000)

# Annotation.
SUGGESTION_MAX_IMAGES = env_int("SUGGESTION_MAX_IMAGES", 500)  # images one suggestion run predicts
SUGGESTION_MIN_SCORE = env_float("SUGGESTION_MIN_SCORE", 0.1)  # weaker predictions are not worth a look
ANNOTATE_QUEUE_SIZE = env_int("ANNOTATE_QUEUE_SIZE", 500)  # images the editor walks through in one go

# Datasets in and out (COCO, YOLO, Pascal VOC, class folders, CSV, JSON): zips imported and exported by jobs.
DATASET_MAX_BYTES = env_int("DATASET_MAX_BYTES", 2 * 1024**3)  # an uploaded or downloaded archive
DATASET_MAX_UNCOMPRESSED_BYTES = env_int("DATASET_MAX_UNCOMPRESSED_BYTES", 8 * 1024**3)  # its files, unpacked
DATASET_MAX_FILES = env_int("DATASET_MAX_FILES", 200_000)  # entries in one archive
DATASET_FETCH_TIMEOUT = env_float("DATASET_FETCH_TIMEOUT", 600.0)  # seconds downloading an archive's url may take

REDIS_URL = env_str("REDIS_URL")

# API.
PAGE_SIZE = env_int("PAGE_SIZE", 20)
MAX_PAGE_SIZE = env_int("MAX_PAGE_SIZE", 1000)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ximilar_platform.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the web app's scripts; checks CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "ximilar_platform.core.api.pagination.StandardPagination",
    "DEFAULT_RENDERER_CLASSES": ["ximilar_platform.core.api.fastjson.FastJSONRenderer"],  # orjson
    "DEFAULT_PARSER_CLASSES": [  # bounded: size per kind of endpoint, JSON depth (core.api.parsers)
        "ximilar_platform.core.api.parsers.LimitedJSONParser",
        "ximilar_platform.core.api.parsers.LimitedFormParser",
        "ximilar_platform.core.api.parsers.LimitedMultiPartParser",
    ],
    "EXCEPTION_HANDLER": "ximilar_platform.core.api.exceptions.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS answers 405 in the error shape; the schema is /api/schema/
    "DEFAULT_THROTTLE_CLASSES": ["ximilar_platform.core.api.throttles.EndpointThrottle"],
}
# Requests per token (or signed-in user) and endpoint class; over it: 429 with Retry-After. Empty: no limit.
THROTTLE_RATES = {
    "api": env_rate("THROTTLE_RATE_API", "3000/minute"),  # CRUD and listings
    "predict": env_rate("THROTTLE_RATE_PREDICT", "1200/minute"),  # classify, detect, descriptor, flows, search
    "train": env_rate("THROTTLE_RATE_TRAIN", "120/hour"),  # starting a training
    # training images and their labels: the official client's upload_images sends 2 requests an image
    "upload": env_rate("THROTTLE_RATE_UPLOAD", "30000/minute"),
}
# How often each API process adds its requests to the shared rate counters while far below a limit (core.api.throttles)
THROTTLE_SYNC_SECONDS = env_float("THROTTLE_SYNC_SECONDS", 1.0)
# Records a workspace may send to the prediction services per day (UTC); 0: counted, not limited.
WORKSPACE_DAILY_RECORDS = env_int("WORKSPACE_DAILY_RECORDS", 0)
# usage and A/B counts are added up in each process and written at most this often (ximilar_platform.daily_counts)
DAILY_COUNTS_FLUSH_SECONDS = env_float("DAILY_COUNTS_FLUSH_SECONDS", 1.0)
# a token found is remembered this long by each API process; a revocation reaches the others within it
TOKEN_CACHE_SECONDS = env_float("TOKEN_CACHE_SECONDS", 10.0)
# a prediction's version row and label names are remembered this long by each API process (serving.memo)
SERVING_CACHE_SECONDS = env_float("SERVING_CACHE_SECONDS", 10.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Trainable vision backend API",
    "DESCRIPTION": "A self-hostable, Ximilar-compatible API for training and serving vision models.",
    "VERSION": "2",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "DISABLE_ERRORS_AND_WARNINGS": True,
}

# The shared cache (rate-limit counters), so that every API process counts together: Redis when
# REDIS_URL is set; on SQLite (one host) a folder of files, no write lock shared with the database;
# else a table of the database.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "api_cache"}}

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport (no server).
BROKER_DIR = DATA_DIR / "broker"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # job state lives in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # a killed worker's message goes back; the job's claim stops a rerun
CELERY_TASK_ROUTES = ["ximilar_platform.celery.route"]  # which queue each kind of work goes to
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
TRAINING_TIME_LIMIT = env_int("TRAINING_TIME_LIMIT", 6 * 3600)
TRAINING_DOWNLOAD_THREADS = env_int("TRAINING_DOWNLOAD_THREADS", 10)  # images fetched at once from S3
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A message unacknowledged for this long is redelivered: it must outlive the longest job.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": TRAINING_TIME_LIMIT + 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # default is ./control, relative to CWD
        "store_processed": False,
    }

# Logs: text for people (`make run`), json (one object per line) for log collectors in production.
# Every record carries the id of the request it was logged in (core.request_id).
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ximilar_platform.core.request_id.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {"()": "ximilar_platform.core.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # in json, gunicorn's workers log their access and error lines through the same handler
        **{
            name: {"handlers": ["console"], "propagate": False}
            for name in ("gunicorn.access", "gunicorn.error")
            if LOG_FORMAT == "json"
        },
    },
}
# In json, Celery workers keep this configuration instead of installing their own text handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "text"

# Notifications (notifications app). Emails about a user's trainings: printed by the worker unless
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend sends them through EMAIL_HOST.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually on port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start, usually on port 465
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10)  # seconds; a hung mail server must not hold a worker
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "vision@localhost")
# Webhooks: seconds one delivery attempt may take, and the waits before each retry of a failed one
# (attempts: one more than the waits). Destinations follow URL_FETCH_ALLOW_LOOPBACK/_PRIVATE.
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 10.0)
WEBHOOK_RETRY_DELAYS = [float(delay) for delay in env_list("WEBHOOK_RETRY_DELAYS", ["10", "60", "300", "1800"])]

# Operations: /healthz, /readyz, /metrics (core.health, core.metrics_view).
READYZ_TIMEOUT = env_float("READYZ_TIMEOUT", 2.0)  # seconds /readyz waits for its checks (and /metrics for Redis)
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
# With a token, /metrics needs `Authorization: Bearer <token>`; without one it answers loopback clients only.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_JOBS_WINDOW = env_float("METRICS_JOBS_WINDOW", 24 * 3600)  # seconds of ended jobs /metrics counts

# `manage.py serve` (what `make run` starts): the API server and a worker together.
PORT = env_int("PORT", 8000)
BIND_ADDRESSES = env_list("BIND_ADDRESSES", ["127.0.0.1", "[::1]"])  # loopback only; 0.0.0.0 to serve others
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 2)
WEB_THREADS = env_int("WEB_THREADS", 4)
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 1)
DEMO_USERNAME = env_str("DEMO_USERNAME", "demo")

# Training (runs in workers on the `training` queue).
TRAINING_QUEUE = env_str("TRAINING_QUEUE", "training")  # served by GPU workers in production
INFERENCE_QUEUE = env_str("INFERENCE_QUEUE", "inference")  # suggestion runs, re-embeddings: GPU or CPU workers
# Trainings of one workspace that run at once; more wait (pending) for their turn. 0: no limit.
TRAINING_MAX_ACTIVE_PER_WORKSPACE = env_int("TRAINING_MAX_ACTIVE_PER_WORKSPACE", 1)
TRAINING_MIN_LABELS = env_int("TRAINING_MIN_LABELS", 2)
TRAINING_MIN_IMAGES_PER_LABEL = env_int("TRAINING_MIN_IMAGES_PER_LABEL", 20)
TRAINING_ARCH = env_str("TRAINING_ARCH", "efficientnet_lite0")
TRAINING_EPOCHS = env_int("TRAINING_EPOCHS", 0) or None  # 0: chosen from the data
TRAINING_IMAGE_SIZE = env_int("TRAINING_IMAGE_SIZE", 0) or None  # 0: chosen from the data
TRAINING_MAX_SECONDS = env_float("TRAINING_MAX_SECONDS", 0) or None
# Categorization and tagging: a first version from a linear head on frozen pretrained features
# (seconds), deployed while the fine-tune trains the next one; a task's quick_first_version overrides it.
TRAINING_QUICK_FIRST_VERSION = env_bool("TRAINING_QUICK_FIRST_VERSION", True)
TRAINING_WEIGHTS_DIR = env_str("TRAINING_WEIGHTS_DIR") or None
TRAINING_HEARTBEAT_SECONDS = env_float("TRAINING_HEARTBEAT_SECONDS", 10)
# A running job whose worker sent no heartbeat for this long is failed (worker killed or lost) by the
# sweep every worker runs every JOB_SWEEP_SECONDS.
TRAINING_STALE_AFTER = env_float("TRAINING_STALE_AFTER", 300)
JOB_SWEEP_SECONDS = env_float("JOB_SWEEP_SECONDS", 60)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 2)  # runs of a job whose worker died, the first included
JOB_PROGRESS_TIMEOUT = env_float("JOB_PROGRESS_TIMEOUT", 7200)  # a running job silent this long is hung; 0: never
JOB_RESEND_AFTER = env_float("JOB_RESEND_AFTER", 900)  # a pending job no worker took is sent again after this
JOB_MAX_SENDS = env_int("JOB_MAX_SENDS", 3)  # then it fails, saying no worker took it
TORCH_THREADS = env_int("TORCH_THREADS", 0) or None

# Detection training (same queue and job lifecycle as recognition).
DETECTION_ARCH = env_str("DETECTION_ARCH", "yolo11n")
DETECTION_MIN_IMAGES_PER_LABEL = env_int("DETECTION_MIN_IMAGES_PER_LABEL", 20)
DETECTION_EPOCHS = env_int("DETECTION_EPOCHS", 0) or None  # 0: chosen from the data
DETECTION_IMAGE_SIZE = env_int("DETECTION_IMAGE_SIZE", 0) or None  # 0: chosen from the data
DETECTION_PATIENCE = env_int("DETECTION_PATIENCE", 0) or None  # 0: chosen from the epochs
# Seconds a detection training on a CPU should take: image size and epochs are fitted to it when the
# data's own would take longer (training.detection_plan); 0: none. DETECTION_EPOCHS overrides it.
DETECTION_CPU_TIME_BUDGET = env_float("DETECTION_CPU_TIME_BUDGET", 260) or None
DETECTION_KEEP_PROB = env_float("DETECTION_KEEP_PROB", 0.3)  # Ximilar's default threshold
# ultralytics keeps its settings and fonts here (inference.yolo_torch.prepare_ultralytics), not in ~/.config
os.environ.setdefault("YOLO_CONFIG_DIR", str(DATA_DIR / "ultralytics"))

# Similarity training (metric learning; same queue and job lifecycle).
SIMILARITY_MIN_GROUPS = env_int("SIMILARITY_MIN_GROUPS", 4)
SIMILARITY_DIMENSION = env_int("SIMILARITY_DIMENSION", 128)
# Search collections: exact search below this many records, HNSW from it on.
SEARCH_HNSW_THRESHOLD = env_int("SEARCH_HNSW_THRESHOLD", 50_000)
# Where the vectors are searched: "faiss", an index in each API process built from the records,
# or "pgvector", HNSW tables in the Postgres database itself (needs CREATE EXTENSION vector).
SEARCH_BACKEND = env_str("SEARCH_BACKEND", "faiss")
if SEARCH_BACKEND not in {"faiss", "pgvector"}:
    raise ImproperlyConfigured(f"SEARCH_BACKEND must be 'faiss' or 'pgvector', not {SEARCH_BACKEND!r}")
# maintenance_work_mem of a pgvector HNSW build: a graph that does not fit is built far more slowly
SEARCH_PGVECTOR_BUILD_MEMORY = env_str("SEARCH_PGVECTOR_BUILD_MEMORY", "1GB")
SEARCH_INDEX_CACHE_SIZE = env_int("SEARCH_INDEX_CACHE_SIZE", 16)  # collection indexes kept per API process (LRU)
SEARCH_MAX_K = env_int("SEARCH_MAX_K", 1000)  # k, count and records to rank per request
SEARCH_MAX_INSERT = env_int("SEARCH_MAX_INSERT", 1000)  # records per insert, update, get or delete
SEARCH_MAX_IMAGE_RECORDS = env_int("SEARCH_MAX_IMAGE_RECORDS", 100)  # records with an image per insert
SEARCH_EMBED_BATCH = env_int("SEARCH_EMBED_BATCH", 32)  # an insert's images per forward pass, and decoded at once
# A copy of every inserted image (longest side at most this, JPEG) lets a collection move to another
# embedder; 0 keeps none (such collections cannot be re-embedded).
SEARCH_KEPT_IMAGE_SIDE = env_int("SEARCH_KEPT_IMAGE_SIDE", 512)
SEARCH_REEMBED_BATCH = env_int("SEARCH_REEMBED_BATCH", 64)

# Inference (runs in the API process).
INFERENCE_CACHE_SIZE = env_int("INFERENCE_CACHE_SIZE", 8)
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 0) or None
# onnxruntime's execution providers, in order of preference: CPU only unless asked for, e.g.
# "CUDAExecutionProvider,CPUExecutionProvider" on GPU workers (the CUDA image's onnxruntime-gpu has it).
# Checked here, so a process whose onnxruntime lacks one refuses to start, naming those it has.
INFERENCE_PROVIDERS = env_list("INFERENCE_PROVIDERS", []) or ["CPUExecutionProvider"]
if INFERENCE_PROVIDERS != ["CPUExecutionProvider"]:  # every onnxruntime has that one: no import to check it
    from inference.onnx import check_providers

    try:
        INFERENCE_PROVIDERS = list(check_providers(INFERENCE_PROVIDERS))
    except ValueError as error:
        raise ImproperlyConfigured(str(error)) from None
ARTIFACT_CACHE_DIR = Path(env_str("ARTIFACT_CACHE_DIR") or DATA_DIR / "artifact-cache")
ARTIFACT_CACHE_MAX_BYTES = env_int("ARTIFACT_CACHE_MAX_BYTES", 5 * 1024**3)  # models downloaded from S3, per host
MAX_RECORDS = env_int("MAX_RECORDS", 10)
# Ready-to-use services: the generic tagger is exported to ONNX here once per host (needs torch once).
READY_MODELS_DIR = Path(env_str("READY_MODELS_DIR") or DATA_DIR / "ready-models")
TAGGING_TOP_K = env_int("TAGGING_TOP_K", 10)  # tags per image at most
TAGGING_MIN_PROB = env_float("TAGGING_MIN_PROB", 0.05)  # weaker tags are left out (the best one never)

# Flows: records per process request, and the deepest chain of nodes (nested flows included).
FLOW_MAX_RECORDS = env_int("FLOW_MAX_RECORDS", MAX_RECORDS)
FLOW_MAX_DEPTH = env_int("FLOW_MAX_DEPTH", 8)
FLOW_MAX_NODES = env_int("FLOW_MAX_NODES", 100)  # nodes one definition may hold
FLOW_MAX_OBJECTS = env_int("FLOW_MAX_OBJECTS", 50)  # objects per image an object selector runs its node on
FLOW_MAX_CROPS = env_int("FLOW_MAX_CROPS", 500)  # object crops one process request makes, all levels together
FLOW_MAX_EXPANDED_NODES = env_int("FLOW_MAX_EXPANDED_NODES", 1000)  # nodes one check walks, nested flows included
