/**
 * The optional cost budget: AWS Budgets, monthly, in US dollars, with two e-mail notifications:
 * actual cost over the amount, and the month's forecast over it (the early warning). AWS Budgets
 * sees the whole account's cost: scoping it to this stack would need a cost allocation tag that
 * someone activates in the Billing console first, and an inactive tag filter silently sees $0.
 */
import { CfnBudget } from 'aws-cdk-lib/aws-budgets';
import type { Construct } from 'constructs';
import type { BudgetProps } from './props';

/** Notify at 100 % of the amount, actual and forecast. */
export const BUDGET_THRESHOLD_PERCENT = 100;

export function createBudget(scope: Construct, budget: BudgetProps): CfnBudget {
  const subscribers = [{ subscriptionType: 'EMAIL', address: budget.email }];
  const notify = (notificationType: 'ACTUAL' | 'FORECASTED'): CfnBudget.NotificationWithSubscribersProperty => ({
    notification: {
      notificationType,
      comparisonOperator: 'GREATER_THAN',
      threshold: BUDGET_THRESHOLD_PERCENT,
      thresholdType: 'PERCENTAGE',
    },
    subscribers,
  });
  return new CfnBudget(scope, 'Budget', {
    budget: {
      budgetType: 'COST',
      timeUnit: 'MONTHLY',
      budgetLimit: { amount: budget.monthlyUsd, unit: 'USD' },
    },
    notificationsWithSubscribers: [notify('ACTUAL'), notify('FORECASTED')],
  });
}
