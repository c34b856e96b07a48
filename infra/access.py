"""Who may call the API (the ``api_access`` setting; docs/deploy.md, "Who may call the API").

``listener``: listeners sign in to the stack's Cognito user pool and call with their ID token; API
Gateway checks it (a Cognito user-pools authoriser on every app route) and passes its claims to the
functions, which act only for the listener named by the immutable ``custom:listener_id``. The
streaming service's backend creates listeners (AdminCreateUser; no self sign-up) and sets that
attribute once; the app can read it but never write it.

``server``: the app routes take SigV4-signed calls (IAM) of a backend that acts for any listener;
no user pool.

Admin routes are the operators' in both modes: the console's (``operator_auth="token"``) take an
ID token of the operators' own user pool (infra/operators.py), the others (the catalogue) IAM. Every
app route needs the app's API key as well (the usage plan's throttling); no admin route does.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.config import Settings
from infra.nag import acknowledge_all
from lambdas.config import DEFAULT_LISTENER_CLAIM
from lambdas.routes import Route

# The user pool's custom attribute behind the claim the functions read ("custom:listener_id").
LISTENER_ATTRIBUTE = DEFAULT_LISTENER_CLAIM.removeprefix("custom:")
# The header the app sends its ID token in (the raw token; docs/deploy.md).
TOKEN_HEADER = "Authorization"
# cdk-nag's findings on the user pool, with the reasons they are acceptable.
POOL_FINDINGS = {
    "AwsSolutions-COG2": "MFA is optional (TOTP, no SMS): a required second factor on every "
    "listener's sign-in to a music app, for tokens that only read one listener's "
    "recommendations and record their events, is the streaming service's call, not ours",
    "AwsSolutions-COG8": "The Plus plan (threat protection) bills every monthly active listener "
    "at several times the Lite price; listeners are created only by the backend (no self "
    "sign-up) and sign-in abuse meets the WAF's per-IP rate rule (prod) and Cognito's own quotas",
}
# cdk-nag's finding on an IAM operator route in listener mode: not a listener's call.
ADMIN_ROUTE_FINDINGS = {
    "AwsSolutions-COG4": "Operator route for automation: IAM (SigV4) for operators' AWS "
    "identities, never a listener's token (the console's routes take the operators' pool)",
}
# cdk-nag's finding on the API in server mode: no user pool by the operator's choice.
SERVER_FINDINGS = {
    "AwsSolutions-COG4": "api_access=server: a backend that authenticates its own users calls "
    "with SigV4 (IAM) and acts for any listener; there is no listener user pool",
}


class ListenerPool(Construct):
    """The listeners' user pool, the app's client, a client for operators' command lines, the
    API's authoriser on the pool, and their ids as stack outputs."""

    def __init__(self, scope: Construct, construct_id: str, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        prod = settings.env == "prod"
        self.pool = cognito.UserPool(
            self,
            "Pool",
            user_pool_name=f"{settings.prefix}-listeners",
            # the backend creates every listener (AdminCreateUser) and sets custom:listener_id
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            custom_attributes={
                # immutable: set once by AdminCreateUser, never changed (not even by an admin)
                LISTENER_ATTRIBUTE: cognito.StringAttribute(min_len=1, max_len=128, mutable=False)
            },
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                # a first password the backend sets without --permanent is used within 3 days
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            # listeners have no e-mail or phone here: the backend resets a password
            # (AdminSetUserPassword)
            account_recovery=cognito.AccountRecovery.NONE,
            feature_plan=cognito.FeaturePlan.LITE,
            deletion_protection=prod,
            removal_policy=RemovalPolicy.RETAIN if prod else RemovalPolicy.DESTROY,
        )
        acknowledge_all(self.pool, POOL_FINDINGS)
        reads = cognito.ClientAttributes().with_custom_attributes(LISTENER_ATTRIBUTE)
        # custom:listener_id is not the clients' to write, so a listener cannot change whose data
        # their token acts for (it is immutable too: set once by AdminCreateUser). The list names
        # one harmless standard attribute because Cognito takes an empty list for none given,
        # which leaves attributes writable.
        writes = cognito.ClientAttributes().with_standard_attributes(locale=True)
        self.app_client = self.pool.add_client(
            "AppClient",
            user_pool_client_name=f"{settings.prefix}-app",
            generate_secret=False,  # a public client: the app cannot keep a secret
            auth_flows=cognito.AuthFlow(user_srp=True),  # plus refresh tokens (always on)
            disable_o_auth=True,  # no hosted UI or OAuth flows: the app signs in with SRP
            prevent_user_existence_errors=True,
            read_attributes=reads,
            write_attributes=writes,
        )
        # Operators' and the backend's client for tokens from the command line
        # (admin-initiate-auth: the call itself needs IAM credentials with
        # cognito-idp:AdminInitiateAuth on this pool)
        self.ops_client = self.pool.add_client(
            "OpsClient",
            user_pool_client_name=f"{settings.prefix}-ops",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(admin_user_password=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            read_attributes=reads,
            write_attributes=writes,
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            authorizer_name=f"{settings.prefix}-listeners",
            cognito_user_pools=[self.pool],
            identity_source=apigw.IdentitySource.header(TOKEN_HEADER),
        )
        CfnOutput(scope, "ListenerPoolId", value=self.pool.user_pool_id,
                  description="The listeners' Cognito user pool (admin-create-user)")  # fmt: skip
        CfnOutput(scope, "ListenerAppClientId", value=self.app_client.user_pool_client_id,
                  description="The app's client of the listener pool (SRP sign-in)")  # fmt: skip
        CfnOutput(scope, "ListenerOpsClientId", value=self.ops_client.user_pool_client_id,
                  description="Operators' client of the listener pool (admin-initiate-auth)")  # fmt: skip


def method_authorization(
    route: Route, listeners: ListenerPool | None, operators: apigw.IAuthorizer
) -> dict[str, object]:
    """A route's authorisation options for ``add_method``: the operators' pool authoriser on the
    console's admin routes; IAM on the other admin routes and, without a listener pool (server
    mode), on every app route; the listeners' pool authoriser otherwise."""
    if route.admin and route.operator_auth == "token":
        return {"authorization_type": apigw.AuthorizationType.COGNITO, "authorizer": operators}
    if route.admin or listeners is None:
        return {"authorization_type": apigw.AuthorizationType.IAM}
    return {
        "authorization_type": apigw.AuthorizationType.COGNITO,
        "authorizer": listeners.authorizer,
    }
