"""Privacy rights, for the shop's backend only (its secret key, as the HTTP Basic user name):
GET /v1/privacy/profile?<identifier> (the profile), GET /v1/privacy/export?<identifier>
(everything held about the person), POST /v1/privacy/erase with {"<identifier field>": ...}
(erase them, keeping only a suppression digest). The identifier is one of userId,
anonymousId, email, phone."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.personal_data import PersonalData
from comeback.adapters.suppressions import Suppressions
from comeback.domain.intake import read_document, write_key_from_authorization
from comeback.http import ApiRequest, guarded, json_response
from comeback.observability import logger, metrics
from comeback.services import privacy
from comeback.services.intake import authenticate_backend
from comeback.settings import PrivacySettings, load


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(PrivacySettings)
    request = ApiRequest.from_event(event)
    action = request.path.rstrip("/").rsplit("/", 1)[-1]

    def answer() -> dict:
        store = wiring.store(settings)
        fields: dict = dict(request.query)
        key = write_key_from_authorization(request.headers.get("authorization"))
        if request.method == "POST":
            fields, key = read_document(request.body, request.headers.get("authorization"))
        shop_id = authenticate_backend(store, key, "privacy")
        shop = wiring.shop(settings, shop_id)
        region = shop.settings.default_phone_region if shop else None
        person = privacy.find_person(store, shop_id, privacy.identifier_from(fields, region))
        data = PersonalData(
            wiring.client("dynamodb"), settings.table_name, settings.timers_table_name
        )
        if action == "profile":
            return json_response(200, {"profile": person.profile.model_dump(mode="json")})
        if action == "export":
            logger.info("person exported", shop_id=shop_id, profiles=len(person.profile_ids))
            return json_response(200, privacy.export_person(data, shop_id, person))
        erasure = privacy.erase_person(
            data,
            Suppressions(wiring.client("dynamodb"), settings.table_name),
            shop_id,
            person,
            wiring.clock().now(),
        )
        logger.info(
            "person erased",
            shop_id=shop_id,
            profiles=erasure.profiles,
            items_deleted=erasure.items_deleted,
        )
        metrics.add_metric(name="PeopleErased", unit=MetricUnit.Count, value=1)
        return json_response(
            200,
            {
                "erased": True,
                "profiles": erasure.profiles,
                "items_deleted": erasure.items_deleted,
                "email_suppressed": erasure.email_suppressed,
            },
        )

    return guarded(answer)
