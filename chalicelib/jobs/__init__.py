"""The job lifecycle, one concern per module:

- ``model``: the typed job, result and prediction, and the transition table;
- ``lifecycle``: the one place where a job changes status and where it ends;
- ``submission``: admitting a request and starting its prediction;
- ``starter``: creating the prediction at Replicate, now or from the queue;
- ``pacing``: starting predictions at Replicate's pace;
- ``waiting``: a submit that waits for its job's end (``Prefer: wait``);
- ``batch``: several submissions in one call;
- ``reuse``: an identical job's result instead of a new run;
- ``status``: what a principal sees of a job it reaches;
- ``views``: the typed response models (the OpenAPI document's too);
- ``control``: cancelling a job;
- ``listing``: a principal's jobs, a page at a time;
- ``usage``: what a client's users spent;
- ``prediction_events``: Replicate's webhooks, and the processor that follows them;
- ``progress``: how far a job is, from the prediction's logs and our own steps;
- ``outputs``: copying a prediction's files into our bucket;
- ``thumbnails``: the preview that completes a job;
- ``reconciliation``: catching up a quiet job with Replicate;
- ``sweep``: the schedule that finds quiet jobs and unsent events;
- ``notifier``: where "a job ended" goes;
- ``persistence``: the jobs store's interface; ``dynamodb``: its DynamoDB backend;
  ``items``: a job as that table's item.
"""
