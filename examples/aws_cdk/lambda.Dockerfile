# The Lambda image: the library with its AWS extra; built by `cdk deploy` from the repo root.
FROM public.ecr.aws/lambda/python:3.12
COPY pyproject.toml README.md /tmp/adverse_events/
COPY src /tmp/adverse_events/src
RUN pip install --no-cache-dir "/tmp/adverse_events[aws]" && rm -rf /tmp/adverse_events
CMD ["adverse_events.aws.lambda_handler.handler"]
